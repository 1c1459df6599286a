package contract

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/uberservice/uberservice/platform/tracing"
)

// GatewayKey and MethodKey are the attributes of a gateway call's span.
const (
	GatewayKey = attribute.Key("uberservice.gateway")
	MethodKey  = attribute.Key("uberservice.gateway.method")
)

// named is a peer's Caller that knows which gateway it reaches, so that a
// call's span can say "accounts.Get".
type named struct {
	Caller
	gateway string
}

// gatewayOf is the name of the gateway c reaches, "" when c does not say.
func gatewayOf(c Caller) string {
	switch c := c.(type) {
	case named:
		return c.gateway
	case interface{ gatewayName() string }:
		return c.gatewayName()
	}
	return ""
}

func (l local[T]) gatewayName() string    { return l.gateway.name }
func (u unavailable) gatewayName() string { return u.gateway }

// startCall starts the client span of a call of method on the gateway c
// reaches, "<gateway>.<Method>", in the calling module's trace: in this
// process it covers the Go call, across processes every HTTP attempt is its
// child.
func startCall(ctx context.Context, c Caller, method string) (context.Context, trace.Span) {
	gw := gatewayOf(c)
	return tracing.Start(ctx, gw+"."+method, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(GatewayKey.String(gw), MethodKey.String(method)))
}

// LocalTraced is Local, with the provider's side of every call recorded by
// tp, the providing module's TracerProvider: a server span named for the
// method's route, under the provider's service, so that the provider's work
// (its transactions, its events) is its own in the trace even when the
// caller shares its process.
func (g Gateway[T]) LocalTraced(impl T, caller string, tp trace.TracerProvider) T {
	return g.client(local[T]{gateway: g, impl: impl, caller: caller, tp: tp})
}

// startServe starts the provider's span of a local call of route.
func (l local[T]) startServe(ctx context.Context, route string) (context.Context, trace.Span) {
	if tracing.Off(l.tp) {
		return ctx, trace.SpanFromContext(context.Background()) // a no-op span: ending it ends nothing of the caller's
	}
	return l.tp.Tracer(tracing.Scope).Start(ctx, route, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(GatewayKey.String(l.gateway.name)))
}
