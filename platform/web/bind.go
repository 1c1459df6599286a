package web

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/problem"
)

// errRequestTimeout answers a body that did not arrive within the server's
// ReadTimeout.
var errRequestTimeout = problem.New(http.StatusRequestTimeout, "request_timeout", "The request took too long to arrive").
	WithDetail("the request body did not arrive in time")

// Bind decodes a JSON request body into v, strictly: unknown fields, wrong
// types, trailing data and an empty body are 400 problems naming the field;
// a body over the limit is 413.
func Bind(c echo.Context, v any) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if ct != "" && !strings.HasPrefix(ct, echo.MIMEApplicationJSON) {
		return echo.ErrUnsupportedMediaType
	}
	dec := json.NewDecoder(c.Request().Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if isTooLarge(err) {
			return errTooLarge
		}
		return problem.ErrMalformed.WithDetail("unexpected data after the JSON object")
	}
	return nil
}

func decodeProblem(err error) error {
	if isTooLarge(err) {
		return errTooLarge // limitBody answers it
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return errRequestTimeout // the server's ReadTimeout cut a slow body off
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		field := typeErr.Field
		if field == "" {
			field = "(body)"
		}
		p := problem.ErrMalformed.WithDetail("%s must be %s", field, describe(typeErr.Type.String()))
		p.Errors = []problem.FieldError{problem.Field(field, "must be "+describe(typeErr.Type.String()))}
		return p
	}
	if errors.Is(err, io.EOF) {
		return problem.ErrMalformed.WithDetail("the request body is empty")
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		f = strings.Trim(f, `"`)
		p := problem.ErrMalformed.WithDetail("unknown field %s", f)
		p.Errors = []problem.FieldError{problem.Field(f, "unknown field")}
		return p
	}
	return problem.ErrMalformed.WithDetail("%s", strings.TrimPrefix(msg, "json: "))
}

func describe(goType string) string {
	switch goType {
	case "int64", "int", "int32":
		return "an integer in range"
	case "string", "uuid.UUID":
		return "a string"
	case "bool":
		return "a boolean"
	}
	if strings.HasPrefix(goType, "[]") {
		return "an array"
	}
	return "an object"
}
