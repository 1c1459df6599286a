package httpclient_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/httpclient"
	"github.com/uberservice/uberservice/platform/tracecontext"
)

// headers records the given header of every request a peer gets.
type headers struct {
	mu   sync.Mutex
	seen []http.Header
}

func (h *headers) record(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.seen = append(h.seen, r.Header.Clone())
		h.mu.Unlock()
		next(w, r)
	}
}

func TestEveryAttemptContinuesTheCallersTraceAsASpanOfItsOwn(t *testing.T) {
	t.Parallel()
	var got headers
	p := newPeer(t, got.record(script(http.StatusServiceUnavailable)))
	c := p.client(httpclient.Options{Retries: 1, Backoff: time.Millisecond})
	span := tracecontext.New()
	ctx := tracecontext.With(correlation.With(context.Background(), "req-9"), span)
	if err := c.Call(ctx, http.MethodGet, "/thing", nil, nil, false); err != nil {
		t.Fatal(err)
	}
	if len(got.seen) != 2 {
		t.Fatalf("%d requests, want a failed attempt and its retry", len(got.seen))
	}
	spans := map[tracecontext.SpanID]bool{span.SpanID: true}
	for i, h := range got.seen {
		sent, err := tracecontext.Parse(h.Get(tracecontext.Header))
		if err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		if sent.TraceID != span.TraceID || sent.Flags != span.Flags {
			t.Fatalf("attempt %d sent %v, want trace %v", i+1, sent, span.TraceID)
		}
		if spans[sent.SpanID] {
			t.Fatalf("attempt %d sent span id %v again", i+1, sent.SpanID)
		}
		spans[sent.SpanID] = true
		if id := h.Get(correlation.Header); id != "req-9" {
			t.Fatalf("attempt %d sent correlation id %q", i+1, id)
		}
	}
}

func TestACallWithoutATraceSendsNoTraceparent(t *testing.T) {
	t.Parallel()
	var got headers
	p := newPeer(t, got.record(ok))
	if err := call(p.client(httpclient.Options{}), http.MethodGet); err != nil {
		t.Fatal(err)
	}
	if tp := got.seen[0].Get(tracecontext.Header); tp != "" {
		t.Fatalf("sent traceparent %q for a context without a trace", tp)
	}
}
