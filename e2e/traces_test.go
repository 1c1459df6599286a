package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uberservice/uberservice/internal/cluster"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/correlation"
)

// TestTracesJaeger runs every module in a process of its own on NATS,
// exporting traces to a real Jaeger, and follows two stories there: a portal
// request is one trace with spans of the portal, accounts and im, each under
// its own service; and a deposit's trace reaches im's handling of the
// funds_deposited event, across the outbox and the broker. The console,
// pointed at the same Jaeger, finds both by trace id and by correlation id.
func TestTracesJaeger(t *testing.T) {
	j := startJaeger(t)
	cfg := config("", "--trace-ui", j.Query)
	cfg.Env = []string{
		"OTEL_EXPORTER_OTLP_ENDPOINT=" + j.OTLP,
		"OTEL_BSP_SCHEDULE_DELAY=200", // milliseconds: spans reach Jaeger soon after they end
	}
	c := cluster.StartTB(t, cluster.OnePerModule("traces-nats", cluster.NATSURL(), catalogue), cfg)
	acc, portal := c.URL("accounts"), c.URL("portal")

	// A manager, and a customer's account that im links to them.
	r := referred(t, c, "TRACE")
	olivia, a := r.customer, r.account

	// The portal's view, in a trace the test starts: the portal calls
	// accounts and im, each a span of its own service in the same trace.
	traceID, caller, requestID := randomHex(16), randomHex(8), "trace-e2e-"+randomHex(6)
	apptest.Do(t, http.MethodGet, portal+"/v1/portal/accounts/"+a.ID, nil,
		append([]string{"traceparent", "00-" + traceID + "-" + caller + "-01", correlation.Header, requestID}, olivia...)...).Expect(t, http.StatusOK)
	spans := waitTrace(t, j, traceID, "spans of portal, accounts and im", func(spans []jaegerSpan) bool {
		return hasService(spans, "portal") && hasService(spans, "accounts") && hasService(spans, "im")
	})
	root := find(spans, func(s jaegerSpan) bool { return s.Service == "portal" && s.Operation == "GET /v1/portal/accounts/:id" })
	if root == nil || len(root.Parents) != 1 || root.Parents[0] != caller {
		t.Fatalf("the portal's server span is %+v, want GET /v1/portal/accounts/:id, the child of the test's span %s\n%s", root, caller, describeSpans(spans))
	}
	for _, m := range []string{"accounts", "im"} {
		call := find(spans, func(s jaegerSpan) bool { return s.Service == "portal" && strings.HasPrefix(s.Operation, m+".") })
		served := find(spans, func(s jaegerSpan) bool {
			return s.Service == m && strings.HasPrefix(s.Operation, "GET /gateway/"+m+"/")
		})
		if call == nil || served == nil {
			t.Fatalf("no gateway call of %s from the portal, or no span of %s serving it\n%s", m, m, describeSpans(spans))
		}
		if !childOf(spans, served, call) {
			t.Fatalf("%s's %s does not descend from the portal's %s\n%s", m, served.Operation, call.Operation, describeSpans(spans))
		}
	}

	// A deposit, in a trace the test starts: accounts writes the event, the
	// relay sends it over NATS, and im's commission handler handles it.
	depositTrace := randomHex(16)
	deposit(t, acc, olivia, a.ID, 10000, 10000, "traceparent", "00-"+depositTrace+"-"+randomHex(8)+"-01")
	isWrite := func(s jaegerSpan) bool {
		return s.Service == "accounts" && s.Operation == "create accounts.funds_deposited.v2"
	}
	isHandling := func(s jaegerSpan) bool {
		return s.Service == "im" && s.Operation == "process accounts.funds_deposited.v2"
	}
	spans = waitTrace(t, j, depositTrace, "accounts' outbox write and im's handling of accounts.funds_deposited.v2", func(spans []jaegerSpan) bool {
		return find(spans, isWrite) != nil && find(spans, isHandling) != nil
	})
	if !childOf(spans, find(spans, isHandling), find(spans, isWrite)) {
		t.Fatalf("im's handling does not descend from accounts' outbox write\n%s", describeSpans(spans))
	}

	// The console looks both up in Jaeger: the deposit by its trace id, the
	// portal's request by its correlation id, each with a link to Jaeger.
	operator, err := c.Operator()
	if err != nil {
		t.Fatal(err)
	}
	for _, look := range []struct{ query, trace string }{{depositTrace, depositTrace}, {requestID, traceID}} {
		page := apptest.Do(t, http.MethodGet, c.URL("console")+"/?trace="+look.query, nil, operator...).Expect(t, http.StatusOK).Body
		for _, want := range []string{
			j.Query + "/trace/" + look.trace, "accounts", "im",
		} {
			if !strings.Contains(string(page), want) {
				t.Fatalf("the console's look-up of %s does not show %q:\n%s", look.query, want, page)
			}
		}
	}
	page := string(apptest.Do(t, http.MethodGet, c.URL("console")+"/?trace="+depositTrace, nil, operator...).Body)
	if !strings.Contains(page, "process accounts.funds_deposited.v2") {
		t.Fatalf("the console's view of the deposit's trace lacks im's handling:\n%s", page)
	}
}

// waitTrace polls Jaeger for trace id until done says it holds what the
// test waits for.
func waitTrace(t *testing.T, j *jaeger, id, what string, done func([]jaegerSpan) bool) []jaegerSpan {
	t.Helper()
	var spans []jaegerSpan
	deadline := time.Now().Add(30 * time.Second)
	for {
		if spans = j.trace(t, id); done(spans) {
			return spans
		}
		if time.Now().After(deadline) {
			t.Fatalf("Jaeger's trace %s has no %s after 30s:\n%s", id, what, describeSpans(spans))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func hasService(spans []jaegerSpan, service string) bool {
	return find(spans, func(s jaegerSpan) bool { return s.Service == service }) != nil
}

func find(spans []jaegerSpan, match func(jaegerSpan) bool) *jaegerSpan {
	for i := range spans {
		if match(spans[i]) {
			return &spans[i]
		}
	}
	return nil
}

// childOf reports whether s descends from ancestor in spans.
func childOf(spans []jaegerSpan, s, ancestor *jaegerSpan) bool {
	byID := map[string]*jaegerSpan{}
	for i := range spans {
		byID[spans[i].SpanID] = &spans[i]
	}
	for seen := 0; s != nil && len(s.Parents) > 0 && seen < len(spans); seen++ {
		if s.Parents[0] == ancestor.SpanID {
			return true
		}
		s = byID[s.Parents[0]]
	}
	return false
}

func describeSpans(spans []jaegerSpan) string {
	var b strings.Builder
	for _, s := range spans {
		fmt.Fprintf(&b, "  %s %s: %s (child of %v)\n", s.SpanID, s.Service, s.Operation, s.Parents)
	}
	return b.String()
}
