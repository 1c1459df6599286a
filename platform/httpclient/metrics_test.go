package httpclient_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/uberservice/uberservice/platform/httpclient"
	"github.com/uberservice/uberservice/platform/metrics"
	"github.com/uberservice/uberservice/platform/problem"
)

// A client counts its calls by the gateway method the contract names, and
// by outcome: an answer is ok, a 4xx problem refused, a 5xx failed, a call
// the open breaker kept back breaker_open; its breaker's state is a gauge.
func TestAClientRecordsItsCallsAndItsBreaker(t *testing.T) {
	t.Parallel()
	p := newPeer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	c := p.client(httpclient.Options{Module: "caller", Gateway: "metered", FailureThreshold: 2, Cooldown: time.Hour, Retries: -1})
	state := metrics.BreakerState.WithLabelValues("caller", "metered", strings.TrimPrefix(p.URL, "http://"))
	if s := testutil.ToFloat64(state); s != 0 {
		t.Fatalf("a new client's breaker state = %v, want 0 (closed)", s)
	}
	ctx := metrics.WithGatewayMethod(context.Background(), "Debit")
	call := func() { _ = c.Call(ctx, http.MethodPost, "/gateway/x", nil, nil, false) }
	call()
	p.set(answerProblem(problem.ErrConflict))
	call()
	p.set(answerProblem(problem.ErrInternal))
	call()
	call() // the second failure in a row opens the breaker
	call()
	_ = c.Call(context.Background(), http.MethodGet, "/gateway/x/1", nil, nil, false) // no method named: the verb
	for outcome, want := range map[string]float64{"ok": 1, "refused": 1, "failed": 2, "breaker_open": 1} {
		if got := testutil.ToFloat64(metrics.GatewayCalls.WithLabelValues("caller", "metered", "Debit", outcome)); got != want {
			t.Errorf("Debit %s counted %v, want %v", outcome, got, want)
		}
	}
	if got := testutil.ToFloat64(metrics.GatewayCalls.WithLabelValues("caller", "metered", "GET", "breaker_open")); got != 1 {
		t.Errorf("a call with no method named is counted %v times under its verb, want 1", got)
	}
	if s := testutil.ToFloat64(state); s != 2 {
		t.Errorf("breaker state = %v, want 2 (open)", s)
	}
}
