// Package web builds the HTTP server every module gets on its own port: the same
// listener limits (NewServer), the same middleware, the same strict binding
// (Bind), the same problem+json errors, the same health endpoints, so that
// modules only write handlers.
package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/problem"
)

// New returns an Echo server for the module called name, to be served by
// NewServer. Every request gets, in this order, its correlation id
// (requestID), its span's name and attributes (traceRoute), its log line
// (requestLogger), the limits on its headers (limitHeaders), a 500 problem
// for a panic (recoverer) and the limit on its body (limitBody).
func New(name string, log *slog.Logger) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = errorHandler(log)
	e.Use(requestID)
	e.Use(traceRoute)
	e.Use(requestLogger(log))
	e.Use(limitHeaders)
	e.Use(recoverer(log))
	e.Use(limitBody)
	return e
}

// recoverer turns a panic in a handler into a 500 problem and a logged stack.
func recoverer(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					log.ErrorContext(c.Request().Context(), "handler panicked", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
					err = problem.ErrInternal
				}
			}()
			return next(c)
		}
	}
}

// errorHandler writes every error as application/problem+json. Problems go out
// as they are; Echo's own errors (404 route, 405, 413) become the matching
// problem; anything else is a 500 that says nothing about internals.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		p := toProblem(err)
		if p.Status >= 500 && p.Code == problem.ErrInternal.Code {
			log.ErrorContext(c.Request().Context(), "internal error", "error", err, "uri", c.Request().RequestURI)
		}
		_ = WriteProblem(c, p)
	}
}

func toProblem(err error) *problem.Problem {
	var p *problem.Problem
	if errors.As(err, &p) {
		return p
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return problem.ErrNotFound.WithDetail("no such route")
		case http.StatusRequestEntityTooLarge:
			return errTooLarge
		case http.StatusMethodNotAllowed:
			return problem.New(http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed")
		case http.StatusUnsupportedMediaType:
			return errUnsupportedMediaType
		}
		if he.Code >= 400 && he.Code < 500 {
			return problem.New(he.Code, "bad_request", http.StatusText(he.Code)).WithDetail("%v", he.Message)
		}
	}
	return problem.ErrInternal
}

// WriteProblem writes p as the response.
func WriteProblem(c echo.Context, p *problem.Problem) error {
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("web: encode problem: %w", err)
	}
	// Complete once flushed, even when the handler goes on (see refuseBody).
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(len(body)))
	return c.Blob(p.Status, problem.ContentType, body)
}

// PathID parses the path parameter name as a UUID. A malformed id names no
// resource, so it is a 404 like an unknown one.
func PathID(c echo.Context, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil {
		return uuid.Nil, problem.ErrNotFound.WithDetail("%q is not a valid id", c.Param(name))
	}
	return id, nil
}
