package httpclient_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/httpclient"
	"github.com/uberservice/uberservice/platform/tracing"
)

const callerTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

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
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	ctx, caller := tp.Tracer("test").Start(correlation.With(context.Background(), "req-9"), "accounts.Get")
	if err := c.Call(ctx, http.MethodGet, "/thing", nil, nil, false); err != nil {
		t.Fatal(err)
	}
	caller.End()
	if len(got.seen) != 2 {
		t.Fatalf("%d requests, want a failed attempt and its retry", len(got.seen))
	}
	attempts := map[trace.SpanID]bool{}
	for _, s := range exp.GetSpans() {
		if s.SpanKind == trace.SpanKindClient && s.Parent.SpanID() == caller.SpanContext().SpanID() {
			attempts[s.SpanContext.SpanID()] = true
		}
	}
	if len(attempts) != 2 {
		t.Fatalf("%d attempt spans under the caller's, want 2: %v", len(attempts), exp.GetSpans())
	}
	for i, h := range got.seen {
		sent := trace.SpanContextFromContext(tracing.Extract(context.Background(), map[string]string{tracing.MetadataKey: h.Get(tracing.MetadataKey)}))
		if sent.TraceID() != caller.SpanContext().TraceID() || !sent.IsSampled() {
			t.Fatalf("attempt %d sent %v, want trace %v", i+1, sent, caller.SpanContext().TraceID())
		}
		if !attempts[sent.SpanID()] {
			t.Fatalf("attempt %d sent span id %v, which is not its own span's", i+1, sent.SpanID())
		}
		delete(attempts, sent.SpanID())
		if id := h.Get(correlation.Header); id != "req-9" {
			t.Fatalf("attempt %d sent correlation id %q", i+1, id)
		}
	}
}

// A caller that records nothing (its module's tracing is off) still passes
// on the trace it is part of.
func TestAnUntracedCallCarriesTheCallersTraceOn(t *testing.T) {
	t.Parallel()
	var got headers
	p := newPeer(t, got.record(ok))
	ctx := tracing.Extract(context.Background(), map[string]string{tracing.MetadataKey: callerTrace})
	if err := p.client(httpclient.Options{}).Call(ctx, http.MethodGet, "/thing", nil, nil, false); err != nil {
		t.Fatal(err)
	}
	if tp := got.seen[0].Get(tracing.MetadataKey); tp != callerTrace {
		t.Fatalf("sent traceparent %q, want the caller's %q", tp, callerTrace)
	}
}

func TestACallWithoutATraceSendsNoTraceparent(t *testing.T) {
	t.Parallel()
	var got headers
	p := newPeer(t, got.record(ok))
	if err := call(p.client(httpclient.Options{}), http.MethodGet); err != nil {
		t.Fatal(err)
	}
	if tp := got.seen[0].Get(tracing.MetadataKey); tp != "" {
		t.Fatalf("sent traceparent %q for a context without a trace", tp)
	}
}
