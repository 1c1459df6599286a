package web

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/problem"
)

// errRequestTimeout answers a body that did not arrive within the server's
// ReadTimeout.
var errRequestTimeout = problem.New(http.StatusRequestTimeout, "request_timeout", "The request took too long to arrive").
	WithDetail("the request body did not arrive in time")

// errUnsupportedMediaType answers a body that is not application/json.
var errUnsupportedMediaType = problem.New(http.StatusUnsupportedMediaType, "unsupported_media_type", "Send application/json").
	WithDetail("the request body must be sent as Content-Type: application/json")

// Bind decodes a JSON request body into v, strictly (see Decode). A body must
// come as application/json (in any case, with any parameters): another media
// type, or none, is 415. A body over the limit is 413.
func Bind(c echo.Context, v any) error {
	req := c.Request()
	if ct := req.Header.Get(echo.HeaderContentType); ct != "" || req.ContentLength != 0 {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != echo.MIMEApplicationJSON {
			return errUnsupportedMediaType
		}
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, BodyLimit+1))
	switch {
	case isTooLarge(err) || len(data) > BodyLimit:
		return errTooLarge // limitBody answers it
	case err != nil:
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			return errRequestTimeout // the server's ReadTimeout cut a slow body off
		}
		return problem.ErrMalformed.WithDetail("the request body could not be read")
	}
	return Decode(data, v)
}

// strict are the decoding options of Decode, spelt out although most are the
// package's defaults: names match exactly, none may repeat, each must be a
// field of the target, and strings must be valid UTF-8.
var strict = json.JoinOptions(
	json.MatchCaseInsensitiveNames(false),
	json.RejectUnknownMembers(true),
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
)

// Decode decodes one JSON value from data into v, strictly: every object
// member must name a field of its target exactly (encoding/json would match
// {"AMOUNT":1} or {"ſku":"K"} to the fields amount and sku), no member may
// appear twice (encoding/json keeps the last), numbers must fit their field,
// and nothing may follow the value. Every failure is a 400 malformed_request
// problem naming the field, as in "lines[0].quantity must be an integer in
// range"; the whole body is "(body)".
//
// It is github.com/go-json-experiment/json, the module that became Go's
// encoding/json/v2, whose defaults are these rules.
func Decode(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return problem.ErrMalformed.WithDetail("the request body is empty")
	}
	dec := jsontext.NewDecoder(bytes.NewReader(data), strict)
	if err := json.UnmarshalDecode(dec, v, strict); err != nil {
		return decodeProblem(err)
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return problem.ErrMalformed.WithDetail("unexpected data after the JSON value")
	}
	return nil
}

func decodeProblem(err error) error {
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &syn) && errors.Is(syn.Err, jsontext.ErrDuplicateName):
		return fieldProblem(fieldName(syn.JSONPointer), "appears more than once")
	case errors.As(err, &sem) && errors.Is(sem.Err, json.ErrUnknownName):
		return fieldProblem(fieldName(sem.JSONPointer), "unknown field")
	case errors.As(err, &sem) && sem.GoType != nil && sem.JSONKind != 0:
		return fieldProblem(fieldName(sem.JSONPointer), "must be "+describe(sem.GoType.String()))
	}
	msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "jsontext: "), "json: ")
	return problem.ErrMalformed.WithDetail("%s", msg)
}

func fieldProblem(field, message string) *problem.Problem {
	detail := field + " " + message
	if message == "unknown field" {
		detail = message + " " + field
	}
	p := problem.ErrMalformed.WithDetail("%s", detail)
	p.Errors = []problem.FieldError{problem.Field(field, message)}
	return p
}

// fieldName writes a JSON pointer (/lines/0/sku) as a field path
// (lines[0].sku); the empty pointer, the whole body, is "(body)".
func fieldName(ptr jsontext.Pointer) string {
	var b strings.Builder
	for tok := range ptr.Tokens() {
		switch {
		case tok != "" && strings.Trim(tok, "0123456789") == "":
			b.WriteString("[" + tok + "]")
		case b.Len() > 0:
			b.WriteString("." + tok)
		default:
			b.WriteString(tok)
		}
	}
	if b.Len() == 0 {
		return "(body)"
	}
	return b.String()
}

func describe(goType string) string {
	goType = strings.TrimLeft(goType, "*")
	switch goType {
	case "int64", "int", "int32", "uint", "uint64", "uint32":
		return "an integer in range"
	case "string":
		return "a string"
	case "uuid.UUID":
		return "a UUID"
	case "time.Time":
		return "an RFC 3339 time"
	case "bool":
		return "a boolean"
	}
	if strings.HasPrefix(goType, "[]") {
		return "an array"
	}
	return "an object"
}
