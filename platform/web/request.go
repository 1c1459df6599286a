package web

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/uberservice/uberservice/platform/correlation"
)

// requestID gives the request its correlation id, the caller's X-Request-Id
// when it is valid (correlation.Valid) and a fresh one otherwise, and echoes
// it. (The request's span, which continues the caller's trace, is Traced's.)
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		id := correlation.OrNew(req.Header.Get(correlation.Header))
		c.Response().Header().Set(correlation.Header, id)
		ctx := correlation.With(req.Context(), id)
		c.SetRequest(req.WithContext(ctx))
		return next(c)
	}
}

// headAsGet serves a HEAD request as a GET, so that every GET route (the
// health endpoints included) answers HEAD too: the handler, and Echo's router
// before it, see a GET, while Go's server, which keeps the HEAD request it
// read, sends the headers the handler writes (Content-Length included) and
// drops the body. It wraps the Echo rather than running inside it because
// Echo routes on the request it was given, whatever a middleware sets.
// Modules register no HEAD routes of their own.
func headAsGet(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method == http.MethodHead {
			get := req.WithContext(context.WithValue(req.Context(), headKey{}, true)) // a copy: the server's stays HEAD
			get.Method = http.MethodGet
			req = get
		}
		h.ServeHTTP(w, req)
	})
}

type headKey struct{}

// method is the request's method as the client sent it.
func method(req *http.Request) string {
	if head, _ := req.Context().Value(headKey{}).(bool); head {
		return http.MethodHead
	}
	return req.Method
}

// requestLogger logs one line per request, with the status the client gets:
// at INFO, ERROR for a 5xx; health and readiness probes at DEBUG, WARN when
// not ready.
func requestLogger(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogURI: true, LogLatency: true, LogError: true,
		HandleError: true, // so the logged status is the one the client gets
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			switch probe := isProbe(c); {
			case probe && v.Status < 500:
				level = slog.LevelDebug // every few seconds, from every orchestrator
			case probe:
				level = slog.LevelWarn // not ready: the failing checks are in the answer
			case v.Status >= 500:
				level = slog.LevelError
			}
			attrs := []slog.Attr{slog.String("method", method(c.Request())), slog.String("uri", v.URI),
				slog.Int("status", v.Status), slog.Duration("latency", v.Latency)}
			if v.Error != nil && v.Status >= 500 {
				attrs = append(attrs, slog.String("error", v.Error.Error()))
			}
			log.LogAttrs(c.Request().Context(), level, "request", attrs...)
			return nil
		},
	})
}
