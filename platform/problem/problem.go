// Package problem is the one error type that crosses module boundaries.
//
// A *Problem is an RFC 9457 problem document and a Go error at once. Gateways
// declare their errors as Problems (accounts.ErrInsufficientFunds, say); the HTTP
// server binding writes them as application/problem+json, and the HTTP client
// decodes them back into a *Problem. Because errors.Is compares problems by
// code, a remote error and a local one are the same error value to the caller.
package problem

import (
	"errors"
	"fmt"
	"net/http"
)

// ContentType is the media type of a problem document.
const ContentType = "application/problem+json"

// typePrefix makes a problem's code into its RFC 9457 type URI.
const typePrefix = "urn:uberservice:problem:"

// FieldError names one invalid field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Code   string       `json:"code"`
	Errors []FieldError `json:"errors,omitempty"`
}

// New returns a problem with the given HTTP status and a stable, machine-readable
// code such as "insufficient_funds". The title is a short human summary.
func New(status int, code, title string) *Problem {
	return &Problem{Type: typePrefix + code, Title: title, Status: status, Code: code}
}

// Error implements error.
func (p *Problem) Error() string {
	if p.Detail != "" {
		return p.Code + ": " + p.Detail
	}
	return p.Code + ": " + p.Title
}

// Is reports whether target is a problem with the same code, so that a decoded
// remote problem matches the sentinel declared by its gateway.
func (p *Problem) Is(target error) bool {
	var t *Problem
	if !errors.As(target, &t) {
		return false
	}
	return t.Code == p.Code
}

// WithDetail returns a copy of p with a detail for this occurrence.
func (p *Problem) WithDetail(format string, args ...any) *Problem {
	c := *p
	c.Detail = fmt.Sprintf(format, args...)
	c.Errors = append([]FieldError(nil), p.Errors...)
	return &c
}

// Generic problems every module uses.
var (
	ErrMalformed   = New(http.StatusBadRequest, "malformed_request", "The request body is not valid JSON of the expected shape")
	ErrNotFound    = New(http.StatusNotFound, "not_found", "The resource does not exist")
	ErrConflict    = New(http.StatusConflict, "conflict", "The request conflicts with the current state")
	ErrTooLarge    = New(http.StatusRequestEntityTooLarge, "body_too_large", "The request body is too large")
	ErrInvalid     = New(http.StatusUnprocessableEntity, "validation_failed", "The request breaks a rule")
	ErrUnavailable = New(http.StatusServiceUnavailable, "unavailable", "A dependency is unavailable")
	ErrInternal    = New(http.StatusInternalServerError, "internal", "Internal error")

	ErrIdempotencyMismatch = New(http.StatusUnprocessableEntity, "idempotency_key_reused",
		"The Idempotency-Key was already used with a different request")
)

// Invalid returns a validation problem listing the offending fields.
func Invalid(fields ...FieldError) *Problem {
	p := ErrInvalid.WithDetail("%d field(s) are invalid", len(fields))
	p.Errors = fields
	return p
}

// Field is shorthand for a FieldError.
func Field(field, message string) FieldError { return FieldError{Field: field, Message: message} }

// From returns err as a problem: err itself when it is (or wraps) one, otherwise
// ErrInternal, so internals never leak to a client.
func From(err error) *Problem {
	var p *Problem
	if errors.As(err, &p) {
		return p
	}
	return ErrInternal
}

// Wrapf names where an infrastructure error happened: it returns err wrapped as
// fmt.Errorf(format+": %w", args..., err). A problem, or an error that wraps
// one, is the answer to the caller and passes unchanged: a local caller of a
// gateway must get the very error a remote one decodes from problem+json,
// with no context of the callee's in front of it. Wrapf(nil, ...) is nil.
func Wrapf(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	var p *Problem
	if errors.As(err, &p) {
		return err
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

// Unavailable wraps a transport failure so that callers can test it with
// errors.Is(err, ErrUnavailable) and still see the cause.
func Unavailable(cause error) error {
	return &unavailable{p: ErrUnavailable.WithDetail("%v", cause), cause: cause}
}

type unavailable struct {
	p     *Problem
	cause error
}

func (u *unavailable) Error() string      { return u.p.Error() }
func (u *unavailable) Unwrap() []error    { return []error{u.p, u.cause} }
func (u *unavailable) As(target any) bool { return asProblem(u.p, target) }
func asProblem(p *Problem, target any) bool {
	t, ok := target.(**Problem)
	if ok {
		*t = p
	}
	return ok
}

// Violations collects the field errors of one request, so that a client learns
// of every invalid field at once.
type Violations []FieldError

// Add records that field is invalid.
func (v *Violations) Add(field, message string) { *v = append(*v, Field(field, message)) }

// Err is nil when nothing was added, and the validation problem otherwise.
func (v Violations) Err() error {
	if len(v) == 0 {
		return nil
	}
	return Invalid(v...)
}
