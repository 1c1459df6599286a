// Package tracing carries the W3C Trace Context (traceparent, tracestate)
// across HTTP calls and events and starts the platform's spans, so that one
// portal request is one trace through every module it reaches, in this
// process or another. It is the OpenTelemetry API only: package otlp below
// sets up the SDK that records and exports.
//
// The code that starts spans (the gateway calls, the transactions, the
// outbox) finds the module's provider in the span its context already carries
// (Start); only where work enters a module (a served request, a relayed or
// delivered message) is the module's provider handed in. With tracing off it
// is a no-op provider: nothing is recorded, and an incoming traceparent still
// reaches the peers and events of the work it caused.
package tracing

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// ModuleKey is the attribute that names a span's module: on the resource of
// a module's provider (package otlp), beside service.name, which
// OTEL_SERVICE_NAME may override, and on the spans of the messages a module
// sends or handles.
const ModuleKey = attribute.Key("uberservice.module")

// Scope is the instrumentation scope of the platform's spans.
const Scope = "github.com/uberservice/uberservice/platform"

// Propagator is the W3C Trace Context propagator: traceparent and tracestate,
// in HTTP headers and, under the same keys, in event metadata.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// Metadata keys of the trace context in an event's metadata: the header
// names, so that an event carries what a request carries.
const (
	MetadataKey      = "traceparent"
	StateMetadataKey = "tracestate"
)

// Start starts a span as a child of the span ctx carries, with that span's
// provider: the module whose work ctx is stays the service the span is
// recorded under. Without a span in ctx, or with a no-op one, it records
// nothing and returns ctx's span context unchanged, so propagation goes on.
func Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	return trace.SpanFromContext(ctx).TracerProvider().Tracer(Scope).Start(ctx, name, opts...)
}

// End ends span, marking it failed with err when err is not nil.
func End(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// Off reports whether tp records nothing: a no-op provider, as Provider
// returns when tracing is off. Who is handed tp may then skip the work of
// instrumenting and only propagate.
func Off(tp trace.TracerProvider) bool {
	_, off := tp.(noop.TracerProvider)
	return tp == nil || off
}

// Inject writes the trace context of ctx into md under MetadataKey (and
// StateMetadataKey). Without a valid span context it writes nothing.
func Inject(ctx context.Context, md map[string]string) {
	Propagator.Inject(ctx, propagation.MapCarrier(md))
}

// Extract returns ctx with the remote span context md carries, when it
// carries a valid one; ctx as it is otherwise (a malformed traceparent is
// ignored, as the W3C spec asks).
func Extract(ctx context.Context, md map[string]string) context.Context {
	return Propagator.Extract(ctx, propagation.MapCarrier(md))
}
