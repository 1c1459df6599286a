package httpclient

import (
	"context"
	"reflect"
	"time"
)

// # Hedged calls
//
// A hedged call races two endpoints for one answer: it goes to one endpoint,
// and when no answer has come after the hedge's delay, to a second one as
// well (another version when the peer runs several); the first good answer
// wins (2xx, or a 4xx problem: the peer is up and said no) and the other
// request is cancelled, which its breaker does not count. A failed request
// sends the second one at once, without waiting out the delay. One slow
// instance then costs a call the delay, not its whole slowness.
//
// Only a call safe to send twice may be hedged: the contract allows it on
// methods declared idempotent (contract.M.Hedged), and Call hedges only a call
// it would retry, on a peer of more than one endpoint.

type hedgeKey struct{}

// WithHedge returns ctx asking for the call it carries to be hedged after
// delay. The contract's table sets it for the methods it declares hedged.
func WithHedge(ctx context.Context, delay time.Duration) context.Context {
	return context.WithValue(ctx, hedgeKey{}, delay)
}

func hedgeFrom(ctx context.Context) (time.Duration, bool) {
	d, ok := ctx.Value(hedgeKey{}).(time.Duration)
	return d, ok && d > 0
}

type leg struct {
	e   *endpoint
	out any // the leg's own answer, so that two legs never decode into one value
	err error
	ran bool
}

func (c *Client) hedged(ctx context.Context, delay time.Duration, method, path string, body []byte, out any) error {
	first := c.pick(nil, nil)
	if first == nil {
		return circuitOpen(method, path+" on every endpoint", nil)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // the loser's request
	results := make(chan leg, 2)
	send := func(e *endpoint) {
		l := leg{e: e, out: fresh(out)}
		go func() {
			l.err, l.ran = c.on(ctx, e, method, path, body, l.out, 1)
			results <- l
		}()
	}
	send(first)
	inFlight, hedged := 1, false
	timer := time.NewTimer(delay)
	defer timer.Stop()
	hedge := func() {
		hedged = true
		other := func(e *endpoint) bool { return first.Version != "" && e.Version != first.Version }
		if second := c.pick(map[*endpoint]bool{first: true}, other); second != nil {
			send(second)
			inFlight++
		}
	}
	var last leg
	for inFlight > 0 {
		select {
		case <-timer.C:
			if !hedged {
				hedge()
			}
		case l := <-results:
			inFlight--
			if l.ran && (l.err == nil || !peerFailed(l.err)) {
				if out != nil {
					reflect.ValueOf(out).Elem().Set(reflect.ValueOf(l.out).Elem())
				}
				return l.err
			}
			if last.err == nil || l.ran {
				last = l
			}
			if !hedged && ctx.Err() == nil {
				hedge() // failed early: no need to wait out the delay
			}
		}
	}
	return last.err
}

// fresh is a new value of what out points to, nil when out is.
func fresh(out any) any {
	if out == nil {
		return nil
	}
	return reflect.New(reflect.TypeOf(out).Elem()).Interface()
}
