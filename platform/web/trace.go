package web

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/tracing"
)

// Traced serves h, a module's Echo, with a server span per request recorded
// by tp, the module's provider: the child of the caller's span when the
// request carries a valid traceparent, the root of a new trace otherwise.
// The span is named for the route once Echo has routed (see traceRoute).
// Probes are not traced. When tp records nothing, the caller's traceparent is
// only carried on, for the calls and events the request causes.
func Traced(h http.Handler, tp trace.TracerProvider) http.Handler {
	if tracing.Off(tp) {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			ctx := tracing.Propagator.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
			h.ServeHTTP(w, req.WithContext(ctx))
		})
	}
	return otelhttp.NewHandler(h, "request",
		otelhttp.WithTracerProvider(tp),
		otelhttp.WithPropagators(tracing.Propagator),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()), // metrics are not the traces' business
		otelhttp.WithSpanNameFormatter(func(_ string, req *http.Request) string { return method(req) }),
		// Probes and scrapes come every few seconds and say nothing of a
		// request's path: traced, they would bury the traces that do.
		otelhttp.WithFilter(func(req *http.Request) bool {
			return req.URL.Path != HealthPath && req.URL.Path != ReadyPath && req.URL.Path != MetricsPath
		}),
	)
}

// traceRoute names the request's span "METHOD /route/{template}" once Echo
// has routed it, and gives it the route and the correlation id.
func traceRoute(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if span := trace.SpanFromContext(req.Context()); span.IsRecording() {
			if route := c.Path(); route != "" {
				span.SetName(method(req) + " " + route)
				span.SetAttributes(semconv.HTTPRoute(route))
			}
			span.SetAttributes(attribute.String(correlation.MetadataKey, correlation.ID(req.Context())))
		}
		return next(c)
	}
}
