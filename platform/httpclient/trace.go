package httpclient

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"

	"github.com/uberservice/uberservice/platform/tracing"
)

// traced sends a request whose context carries a recording span through
// otelhttp's transport: each attempt is a client span, the child of the
// caller's (the gateway call's), recorded by the caller's provider, and its
// traceparent names that span. Any other request goes out as it is, with the
// traceparent Call set, if any: tracing that is off costs nothing here.
func traced(rt http.RoundTripper) http.RoundTripper {
	return tracedTransport{
		plain: rt,
		otel: otelhttp.NewTransport(rt,
			otelhttp.WithPropagators(tracing.Propagator),
			otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()), // metrics are not the traces' business
		),
	}
}

type tracedTransport struct{ plain, otel http.RoundTripper }

func (t tracedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if trace.SpanFromContext(req.Context()).IsRecording() {
		return t.otel.RoundTrip(req)
	}
	return t.plain.RoundTrip(req)
}

// CloseIdleConnections closes the idle connections of the transport under t,
// as http.Client.CloseIdleConnections asks.
func (t tracedTransport) CloseIdleConnections() {
	if c, ok := t.plain.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
