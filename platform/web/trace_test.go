package web_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/httpclient"
	"github.com/uberservice/uberservice/platform/tracecontext"
	"github.com/uberservice/uberservice/platform/web"
)

const callerTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// relay is a module whose handler calls a peer through httpclient, as a
// gateway client does; the peer records the headers it gets.
type relay struct {
	e      *echo.Echo
	served tracecontext.Span // the handler's span
	sent   http.Header       // what reached the peer
}

func newRelay(t *testing.T) *relay {
	t.Helper()
	r := &relay{}
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.sent = req.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(peer.Close)
	client := httpclient.New(peer.URL, httpclient.Options{Log: slog.New(slog.DiscardHandler)})
	r.e = web.New("test", slog.New(slog.DiscardHandler))
	r.e.GET("/relay", func(c echo.Context) error {
		ctx := c.Request().Context()
		r.served, _ = tracecontext.From(ctx)
		if err := client.Call(ctx, http.MethodGet, "/peer", nil, nil, false); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
	return r
}

func (r *relay) do(t *testing.T, headers ...string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/relay", nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	r.e.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
}

func TestAValidTraceparentIsContinuedToOutgoingCalls(t *testing.T) {
	r := newRelay(t)
	r.do(t, tracecontext.Header, callerTrace, correlation.Header, "req-77")
	caller, _ := tracecontext.Parse(callerTrace)
	if r.served.TraceID != caller.TraceID || r.served.SpanID == caller.SpanID || !r.served.SpanID.IsValid() {
		t.Fatalf("the handler's span %v does not continue the caller's %v", r.served, caller)
	}
	sent, err := tracecontext.Parse(r.sent.Get(tracecontext.Header))
	if err != nil {
		t.Fatalf("the outgoing call's traceparent: %v", err)
	}
	if sent.TraceID != caller.TraceID {
		t.Fatalf("the outgoing call is in trace %v, want the caller's %v", sent.TraceID, caller.TraceID)
	}
	if sent.SpanID == caller.SpanID || sent.SpanID == r.served.SpanID {
		t.Fatalf("the outgoing call reuses span id %v", sent.SpanID)
	}
	if id := r.sent.Get(correlation.Header); id != "req-77" {
		t.Fatalf("the outgoing call's correlation id is %q, want req-77", id)
	}
}

func TestAMissingOrMalformedTraceparentStartsANewTrace(t *testing.T) {
	caller, _ := tracecontext.Parse(callerTrace)
	for name, h := range map[string]string{
		"missing":    "",
		"garbage":    "not-a-trace",
		"upper case": strings.ToUpper(callerTrace),
		"zero trace": "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"version ff": "ff" + callerTrace[2:],
		"truncated":  callerTrace[:50],
	} {
		t.Run(name, func(t *testing.T) {
			r := newRelay(t)
			r.do(t, tracecontext.Header, h)
			if !r.served.IsValid() || r.served.TraceID == caller.TraceID {
				t.Fatalf("the handler's span is %v, want a new trace", r.served)
			}
			sent, err := tracecontext.Parse(r.sent.Get(tracecontext.Header))
			if err != nil || sent.TraceID != r.served.TraceID || sent.SpanID == r.served.SpanID {
				t.Fatalf("the outgoing call sent %v (%v), want a child of %v", sent, err, r.served)
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
	r := newRelay(t)
	r.do(t, tracecontext.Header, "01"+callerTrace[2:]+"-"+strings.Repeat("x", 4<<10))
	caller, _ := tracecontext.Parse(callerTrace)
	if r.served.TraceID != caller.TraceID {
		t.Fatalf("the handler's span %v does not continue the caller's trace", r.served)
	}
	if sent := r.sent.Get(tracecontext.Header); len(sent) != 55 || !strings.HasPrefix(sent, "00-") {
		t.Fatalf("the outgoing traceparent is %.80q", sent)
	}
}
