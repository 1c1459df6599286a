package metrics

import (
	"context"
	"errors"
	"time"

	"github.com/uberservice/uberservice/platform/problem"
)

// Outcomes of a gateway call (uberservice_gateway_calls_total).
const (
	OutcomeOK          = "ok"
	OutcomeRefused     = "refused"      // the provider said no: a 4xx problem
	OutcomeFailed      = "failed"       // a 5xx, or the provider was not reached
	OutcomeBreakerOpen = "breaker_open" // the caller's breaker did not try
)

// Outcome classifies the error of a gateway call: a problem under 500 is the
// provider's answer (insufficient funds, not found), anything else a failure.
// A call its breaker refused is for the caller to tell (OutcomeBreakerOpen).
func Outcome(err error) string {
	if err == nil {
		return OutcomeOK
	}
	var p *problem.Problem
	if errors.As(err, &p) && p.Status < 500 {
		return OutcomeRefused
	}
	return OutcomeFailed
}

// ObserveCall records a gateway call that module made of gateway's method,
// begun at start.
func ObserveCall(module, gateway, method, outcome string, start time.Time) {
	if !Recording() {
		return
	}
	GatewayCalls.WithLabelValues(module, gateway, method, outcome).Inc()
	GatewayDuration.WithLabelValues(module, gateway, method).Observe(time.Since(start).Seconds())
}

type methodKey struct{}

// WithGatewayMethod returns ctx saying that the gateway call it carries is
// of method (as the gateway's interface names it): the contract's table says
// so, and the HTTP client, which sees only a route with ids in it, labels
// the call with it.
func WithGatewayMethod(ctx context.Context, method string) context.Context {
	return context.WithValue(ctx, methodKey{}, method)
}

// GatewayMethod is the method WithGatewayMethod set on ctx, or "".
func GatewayMethod(ctx context.Context) string {
	m, _ := ctx.Value(methodKey{}).(string)
	return m
}
