package contract

import (
	"context"
	"fmt"
	"time"

	"github.com/uberservice/uberservice/platform/httpclient"
)

// Hedged declares that a call to a peer of several endpoints races two of
// them: when the first has not answered after delay, the same call goes to a
// second endpoint, and the first good answer wins (see package httpclient).
// A hedged call may reach the peer twice, so only a method declared
// Idempotent or IdempotentIf may be hedged, and Hedged must follow that
// declaration: otherwise, or with a delay that is not positive, it panics
// when the table is built. An IdempotentIf method hedges only the calls its
// input makes safe.
func (m M[T, In, Out]) Hedged(delay time.Duration) M[T, In, Out] {
	if m.idempotent == nil {
		panic(fmt.Sprintf("contract: %s: only a method declared Idempotent or IdempotentIf may be hedged: a hedged call may arrive twice", m.name))
	}
	if delay <= 0 {
		panic(fmt.Sprintf("contract: %s: hedge delay %v is not positive", m.name, delay))
	}
	m.hedge = delay
	return m
}

// withHedge asks the HTTP client to hedge a call when m is hedged and the
// call is safe to send twice.
func (m M[T, In, Out]) withHedge(ctx context.Context, safe bool) context.Context {
	if m.hedge <= 0 || !safe {
		return ctx
	}
	return httpclient.WithHedge(ctx, m.hedge)
}
