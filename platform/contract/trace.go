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
