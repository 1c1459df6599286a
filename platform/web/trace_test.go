package web_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/httpclient"
	"github.com/uberservice/uberservice/platform/tracing"
	"github.com/uberservice/uberservice/platform/web"
)

const callerTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// relay is a module whose handler calls a peer through httpclient, as a
// gateway client does; the peer records the headers it gets.
type relay struct {
	h      http.Handler
	spans  *tracetest.InMemoryExporter
	served trace.SpanContext // the handler's
	sent   http.Header       // what reached the peer
}

// newRelay serves the module with tp's tracing; nil for a recording one.
func newRelay(t *testing.T, tp trace.TracerProvider) *relay {
	t.Helper()
	r := &relay{spans: tracetest.NewInMemoryExporter()}
	if tp == nil {
		tp = sdktrace.NewTracerProvider(sdktrace.WithSyncer(r.spans))
	}
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.sent = req.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(peer.Close)
	client := httpclient.New(peer.URL, httpclient.Options{Log: slog.New(slog.DiscardHandler)})
	e := web.New("test", slog.New(slog.DiscardHandler))
	e.GET("/relay/:id", func(c echo.Context) error {
		ctx := c.Request().Context()
		r.served = trace.SpanContextFromContext(ctx)
		if err := client.Call(ctx, http.MethodGet, "/peer", nil, nil, false); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
	web.MountHealth(e, func() []web.Check { return nil })
	e.GET(web.MetricsPath, func(c echo.Context) error { return c.String(http.StatusOK, "# scraped\n") })
	r.h = web.Traced(e, tp)
	return r
}

func (r *relay) do(t *testing.T, path string, headers ...string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	r.h.ServeHTTP(rec, req)
	if rec.Code/100 != 2 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}

// span is the one recorded span of kind.
func (r *relay) span(t *testing.T, kind trace.SpanKind) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range r.spans.GetSpans() {
		if s.SpanKind == kind {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d %s spans, want 1: %v", len(found), kind, r.spans.GetSpans())
	}
	return found[0]
}

func attrs(s tracetest.SpanStub) map[attribute.Key]string {
	out := map[attribute.Key]string{}
	for _, kv := range s.Attributes {
		out[kv.Key] = kv.Value.Emit()
	}
	return out
}

func parse(t *testing.T, traceparent string) trace.SpanContext {
	t.Helper()
	ctx := tracing.Extract(t.Context(), map[string]string{tracing.MetadataKey: traceparent})
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		t.Fatalf("traceparent %q does not parse", traceparent)
	}
	return sc
}

// A request with a valid traceparent is a server span, the caller's child,
// named for its route; the peer it calls gets the traceparent of the call's
// own client span, the server span's child.
func TestAValidTraceparentIsContinuedToOutgoingCalls(t *testing.T) {
	r := newRelay(t, nil)
	r.do(t, "/relay/42", tracing.MetadataKey, callerTrace, correlation.Header, "req-77")
	caller := parse(t, callerTrace)
	server, client := r.span(t, trace.SpanKindServer), r.span(t, trace.SpanKindClient)
	if server.Parent.SpanID() != caller.SpanID() || server.SpanContext.TraceID() != caller.TraceID() || !server.Parent.IsRemote() {
		t.Fatalf("the server span %v does not continue the caller's %v", server.SpanContext, caller)
	}
	if server.Name != "GET /relay/:id" {
		t.Fatalf("the server span is named %q, want the route's", server.Name)
	}
	if a := attrs(server); a["http.route"] != "/relay/:id" || a[correlation.MetadataKey] != "req-77" {
		t.Fatalf("the server span's attributes %v lack the route or the correlation id", a)
	}
	if !r.served.Equal(server.SpanContext) {
		t.Fatalf("the handler runs in %v, want the server span %v", r.served, server.SpanContext)
	}
	if client.Parent.SpanID() != server.SpanContext.SpanID() {
		t.Fatalf("the call's span %v is no child of the server's", client.Parent)
	}
	sent := parse(t, r.sent.Get(tracing.MetadataKey))
	if sent.TraceID() != caller.TraceID() || sent.SpanID() != client.SpanContext.SpanID() {
		t.Fatalf("the peer got %v, want the call's span %v", sent, client.SpanContext)
	}
	if id := r.sent.Get(correlation.Header); id != "req-77" {
		t.Fatalf("the outgoing call's correlation id is %q, want req-77", id)
	}
}

func TestAMissingOrMalformedTraceparentStartsANewTrace(t *testing.T) {
	caller := parse(t, callerTrace)
	for name, h := range map[string]string{
		"missing":    "",
		"garbage":    "not-a-trace",
		"upper case": strings.ToUpper(callerTrace),
		"zero trace": "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"version ff": "ff" + callerTrace[2:],
		"truncated":  callerTrace[:50],
	} {
		t.Run(name, func(t *testing.T) {
			r := newRelay(t, nil)
			r.do(t, "/relay/1", tracing.MetadataKey, h)
			server := r.span(t, trace.SpanKindServer)
			if server.Parent.IsValid() || server.SpanContext.TraceID() == caller.TraceID() {
				t.Fatalf("the server span's parent is %v, want a new trace", server.Parent)
			}
			sent := parse(t, r.sent.Get(tracing.MetadataKey))
			if sent.TraceID() != server.SpanContext.TraceID() {
				t.Fatalf("the outgoing call sent %v, want trace %v", sent, server.SpanContext.TraceID())
			}
			if id := r.sent.Get(correlation.Header); id == "" {
				t.Fatal("the outgoing call has no correlation id")
			}
		})
	}
}

// A later version of traceparent may be longer, and is continued as the spec
// asks; only the fields version 00 defines are kept, so what goes out is 55
// characters whatever came in.
func TestALongLaterVersionTraceparentIsNotCopied(t *testing.T) {
	r := newRelay(t, nil)
	r.do(t, "/relay/1", tracing.MetadataKey, "01"+callerTrace[2:]+"-"+strings.Repeat("x", 4<<10))
	if server := r.span(t, trace.SpanKindServer); server.SpanContext.TraceID() != parse(t, callerTrace).TraceID() {
		t.Fatalf("the server span %v does not continue the caller's trace", server.SpanContext)
	}
	if sent := r.sent.Get(tracing.MetadataKey); len(sent) != 55 || !strings.HasPrefix(sent, "00-") {
		t.Fatalf("the outgoing traceparent is %.80q", sent)
	}
}

// With tracing off nothing is recorded, and the caller's traceparent reaches
// the peer as it came: the trace goes on past a module that does not record.
func TestUntracedTheCallersTraceparentIsCarriedOn(t *testing.T) {
	r := newRelay(t, noop.NewTracerProvider())
	r.do(t, "/relay/1", tracing.MetadataKey, callerTrace)
	if got := r.sent.Get(tracing.MetadataKey); got != callerTrace {
		t.Fatalf("the peer got traceparent %q, want the caller's %q", got, callerTrace)
	}
	r.do(t, "/relay/1")
	if got := r.sent.Get(tracing.MetadataKey); got != "" {
		t.Fatalf("the peer got traceparent %q for an untraced request", got)
	}
}

func TestProbesAndScrapesAreNotTraced(t *testing.T) {
	r := newRelay(t, nil)
	r.do(t, web.HealthPath, tracing.MetadataKey, callerTrace)
	r.do(t, web.ReadyPath)
	r.do(t, web.MetricsPath, tracing.MetadataKey, callerTrace)
	if spans := r.spans.GetSpans(); len(spans) != 0 {
		t.Fatalf("probes and scrapes recorded %d spans", len(spans))
	}
}
