package httpclient

import (
	"context"
	"errors"
	"time"

	"github.com/sony/gobreaker/v2"

	"github.com/uberservice/uberservice/platform/metrics"
)

// observe records a call begun at start that ended with err, as a call of
// the gateway method the contract names in ctx (the HTTP method otherwise).
func (c *Client) observe(ctx context.Context, verb string, start time.Time, err error) {
	if c.opts.Gateway == "" {
		return
	}
	outcome := metrics.Outcome(err)
	if errors.Is(err, ErrCircuitOpen) {
		outcome = metrics.OutcomeBreakerOpen
	}
	method := metrics.GatewayMethod(ctx)
	if method == "" {
		method = verb
	}
	metrics.ObserveCall(c.opts.Module, c.opts.Gateway, method, outcome, start)
}

// recordState sets the breaker's gauge: gobreaker's states are numbered as
// uberservice_gateway_breaker_state is (0 closed, 1 half-open, 2 open). An
// open breaker turns half-open when a call or State looks at it after the
// cool-down, so the gauge may say open for a while longer when no call comes.
// Each endpoint has its own, labelled with its host:port.
func (c *Client) recordState(e *endpoint, s gobreaker.State) {
	if c.opts.Gateway != "" {
		metrics.BreakerState.WithLabelValues(c.opts.Module, c.opts.Gateway, e.label).Set(float64(s))
	}
}
