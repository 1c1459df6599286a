package web

import (
	"log/slog"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/tracecontext"
)

// requestID gives the request its correlation id, the caller's X-Request-Id
// when it is valid (correlation.Valid) and a fresh one otherwise, and echoes
// it. The request continues the caller's W3C trace (a new span in it) when it
// sends a valid traceparent, and starts a trace otherwise.
func requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		id := correlation.OrNew(req.Header.Get(correlation.Header))
		c.Response().Header().Set(correlation.Header, id)
		ctx := correlation.With(req.Context(), id)
		ctx = tracecontext.With(ctx, tracecontext.Continue(req.Header.Get(tracecontext.Header)))
		c.SetRequest(req.WithContext(ctx))
		return next(c)
	}
}

// requestLogger logs one line per request, with the status the client gets.
func requestLogger(log *slog.Logger) echo.MiddlewareFunc {
	return middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
		LogStatus: true, LogMethod: true, LogURI: true, LogLatency: true, LogError: true,
		HandleError: true, // so the logged status is the one the client gets
		LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
			level := slog.LevelInfo
			if v.Status >= 500 {
				level = slog.LevelError
			}
			attrs := []slog.Attr{slog.String("method", v.Method), slog.String("uri", v.URI),
				slog.Int("status", v.Status), slog.Duration("latency", v.Latency)}
			if v.Error != nil && v.Status >= 500 {
				attrs = append(attrs, slog.String("error", v.Error.Error()))
			}
			log.LogAttrs(c.Request().Context(), level, "request", attrs...)
			return nil
		},
	})
}
