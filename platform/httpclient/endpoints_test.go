package httpclient_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/uberservice/uberservice/platform/httpclient"
	"github.com/uberservice/uberservice/platform/metrics"
	"github.com/uberservice/uberservice/platform/problem"
)

// account is a DTO as a gateway declares one: every field always written.
type account struct {
	ID      string `json:"id"`
	Balance int64  `json:"balance"`
	Note    string `json:"note,omitempty"`
}

func answerAccount(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"id":"a1","balance":5}`))
}

func peerOf(opts httpclient.Options, eps ...httpclient.Endpoint) *httpclient.Client {
	opts.Log = slog.New(slog.DiscardHandler)
	return httpclient.NewPeer(eps, opts)
}

func get(c *httpclient.Client, ctx context.Context) (account, error) {
	var a account
	err := c.Call(ctx, http.MethodGet, "/accounts/a1", nil, &a, false)
	return a, err
}

func TestParseEndpointsReadsWeightsAndVersions(t *testing.T) {
	t.Parallel()
	got, err := httpclient.ParseEndpoints("http://im-a:9082;weight=90, http://im-b:9082/;version=2;weight=10")
	if err != nil {
		t.Fatal(err)
	}
	want := []httpclient.Endpoint{{URL: "http://im-a:9082", Weight: 90}, {URL: "http://im-b:9082", Weight: 10, Version: "2"}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if one, err := httpclient.ParseEndpoints("http://im:9082"); err != nil || len(one) != 1 || one[0].Weight != 1 {
		t.Fatalf("a plain URL: %+v, %v", one, err)
	}
	for _, bad := range []string{"", "im:9082", "http://a;weight=0", "http://a;weight=x", "http://a;colour=red", "http://a,http://a", "http://a;version="} {
		if _, err := httpclient.ParseEndpoints(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestCallsAreSpreadByWeight(t *testing.T) {
	t.Parallel()
	a, b := newPeer(t, answerAccount), newPeer(t, answerAccount)
	c := peerOf(httpclient.Options{}, httpclient.Endpoint{URL: a.URL, Weight: 90}, httpclient.Endpoint{URL: b.URL, Weight: 10})
	for range 1000 {
		if _, err := get(c, context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if na, nb := a.hits.Load(), b.hits.Load(); na < 870 || na > 930 || na+nb != 1000 {
		t.Fatalf("90/10 weights sent %d and %d of 1000 calls", na, nb)
	}
}

// A failing endpoint is ejected while the other serves every call; after the
// cool-down, a call probes it, and once healed it takes its share again.
func TestAFailingEndpointIsEjectedAndProbedBackWhileTheOtherServes(t *testing.T) {
	t.Parallel()
	sick, well := newPeer(t, answerStatus(http.StatusInternalServerError)), newPeer(t, answerAccount)
	c := peerOf(httpclient.Options{Module: "caller", Gateway: "ejecting", FailureThreshold: 3, Cooldown: 300 * time.Millisecond},
		httpclient.Endpoint{URL: sick.URL}, httpclient.Endpoint{URL: well.URL})
	gauge := metrics.BreakerState.WithLabelValues("caller", "ejecting", strings.TrimPrefix(sick.URL, "http://"))
	for i := range 40 {
		if _, err := get(c, context.Background()); err != nil {
			t.Fatalf("call %d: %v: a safe call must fail over to the other endpoint", i, err)
		}
	}
	if n := sick.hits.Load(); n != 3 {
		t.Fatalf("the failing endpoint got %d calls, want 3 (its threshold), then none", n)
	}
	if s := c.EndpointStates()[sick.URL]; s != "open" {
		t.Fatalf("the failing endpoint's breaker is %s, want open", s)
	}
	if c.CircuitState() != "closed" {
		t.Fatalf("the peer's state is %s: one endpoint still serves", c.CircuitState())
	}
	if v := testutil.ToFloat64(gauge); v != 2 {
		t.Fatalf("the endpoint's breaker gauge is %v, want 2 (open)", v)
	}
	// A call that is not safe to send again is not failed over.
	sick.set(answerAccount)
	time.Sleep(350 * time.Millisecond)
	for range 20 {
		if _, err := get(c, context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if s := c.EndpointStates()[sick.URL]; s != "closed" {
		t.Fatalf("the healed endpoint's breaker is %s, want closed", s)
	}
	if n := sick.hits.Load(); n < 10 {
		t.Fatalf("the healed endpoint got %d of 20 calls, want its share back", n-3)
	}
}

func TestAnUnsafeCallIsNotSentToASecondEndpoint(t *testing.T) {
	t.Parallel()
	sick, well := newPeer(t, answerStatus(http.StatusInternalServerError)), newPeer(t, ok)
	c := peerOf(httpclient.Options{}, httpclient.Endpoint{URL: sick.URL}, httpclient.Endpoint{URL: well.URL})
	failed := 0
	for range 4 {
		if err := c.Call(context.Background(), http.MethodPost, "/debits", map[string]int{"amount": 1}, nil, false); err != nil {
			failed++
		}
	}
	if failed != 2 || sick.hits.Load() != 2 || well.hits.Load() != 2 {
		t.Fatalf("%d of 4 POSTs failed; hits %d and %d: want each endpoint its 2, once each", failed, sick.hits.Load(), well.hits.Load())
	}
}

func TestEveryEndpointOpenFailsFast(t *testing.T) {
	t.Parallel()
	a, b := newPeer(t, answerStatus(http.StatusInternalServerError)), newPeer(t, dropConnection)
	c := peerOf(httpclient.Options{FailureThreshold: 2, Cooldown: time.Hour, Retries: -1},
		httpclient.Endpoint{URL: a.URL}, httpclient.Endpoint{URL: b.URL})
	for range 4 {
		_, _ = get(c, context.Background())
	}
	hits := a.hits.Load() + b.hits.Load()
	start := time.Now()
	_, err := get(c, context.Background())
	expectOpen(t, err)
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Fatalf("the refused call took %v", d)
	}
	if a.hits.Load()+b.hits.Load() != hits || c.CircuitState() != "open" {
		t.Fatalf("a call reached an endpoint with every breaker open (state %s)", c.CircuitState())
	}
}

// The ostrich answers 200 with what is not the contract: the call fails with
// a bad_gateway problem (502 to whoever passes it on), and its breaker counts it.
func TestAnOstrichIsABadGatewayAndABreakerFailure(t *testing.T) {
	t.Parallel()
	for name, body := range map[string]string{"other JSON": `{"unexpected": true}`, "not JSON": "<html>hello</html>", "null": "null", "empty": ""} {
		p := newPeer(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(body)) })
		c := p.client(httpclient.Options{FailureThreshold: 1, Cooldown: time.Hour})
		_, err := get(c, context.Background())
		if !errors.Is(err, httpclient.ErrBadGateway) || problem.From(err).Status != http.StatusBadGateway || errors.Is(err, problem.ErrUnavailable) {
			t.Fatalf("%s: %v, want a bad_gateway problem", name, err)
		}
		if c.CircuitState() != "open" {
			t.Fatalf("%s: the breaker is %s, want open", name, c.CircuitState())
		}
	}
	// An answer with fields the DTO lacks, or without its omitempty ones, is fine.
	p := newPeer(t, func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"id":"a","balance":1,"added":[1]}`))
	})
	if _, err := get(p.client(httpclient.Options{}), context.Background()); err != nil {
		t.Fatalf("a newer answer: %v", err)
	}
	// Next to a sound endpoint, the ostrich is ejected and no caller sees it.
	ostrich := newPeer(t, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(`{"unexpected": true}`)) })
	sound := newPeer(t, answerAccount)
	c := peerOf(httpclient.Options{FailureThreshold: 2, Cooldown: time.Hour}, httpclient.Endpoint{URL: ostrich.URL}, httpclient.Endpoint{URL: sound.URL})
	for range 10 {
		if a, err := get(c, context.Background()); err != nil || a.ID != "a1" {
			t.Fatalf("%+v, %v", a, err)
		}
	}
	if ostrich.hits.Load() != 2 || c.EndpointStates()[ostrich.URL] != "open" {
		t.Fatalf("the ostrich got %d calls, breaker %s", ostrich.hits.Load(), c.EndpointStates()[ostrich.URL])
	}
}

func TestANotReadyEndpointGetsNoCallsUnlessNoneIsReady(t *testing.T) {
	t.Parallel()
	readiness := func(ready *bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/readyz" && !*ready {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			answerAccount(w, r)
		}
	}
	aReady, bReady := false, true
	a, b := newPeer(t, readiness(&aReady)), newPeer(t, readiness(&bReady))
	c := peerOf(httpclient.Options{}, httpclient.Endpoint{URL: a.URL}, httpclient.Endpoint{URL: b.URL})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Probe(ctx, 20*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	before := a.hits.Load()
	for range 10 {
		if _, err := get(c, context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := a.hits.Load() - before; n > 2 { // probes only, no call
		t.Fatalf("the not-ready endpoint got %d requests", n)
	}
	b.set(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/readyz" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		answerAccount(w, r)
	})
	time.Sleep(100 * time.Millisecond)
	for range 4 {
		if _, err := get(c, context.Background()); err != nil {
			t.Fatalf("with no endpoint ready, calls still go: %v", err)
		}
	}
}

// slow answers after d, or when the client has gone.
func slow(d time.Duration) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(d):
			answerAccount(w, r)
		case <-r.Context().Done():
		}
	}
}

func TestAHedgedCallIsAsFastAsTheFasterEndpoint(t *testing.T) {
	t.Parallel()
	lagging, quick := newPeer(t, slow(400*time.Millisecond)), newPeer(t, answerAccount)
	c := peerOf(httpclient.Options{}, httpclient.Endpoint{URL: lagging.URL}, httpclient.Endpoint{URL: quick.URL, Version: "2"})
	hedged := httpclient.WithHedge(context.Background(), 20*time.Millisecond)
	worst := time.Duration(0)
	for range 10 {
		start := time.Now()
		a, err := get(c, hedged)
		if err != nil || a.ID != "a1" {
			t.Fatalf("%+v, %v", a, err)
		}
		worst = max(worst, time.Since(start))
	}
	if worst > 200*time.Millisecond {
		t.Fatalf("the slowest hedged call took %v; the hedge fires after 20ms", worst)
	}
	if c.EndpointStates()[lagging.URL] != "closed" {
		t.Fatal("a cancelled loser counted against its breaker")
	}
	// Unhedged, the calls sent to the lagging endpoint wait for it.
	start := time.Now()
	for range 2 {
		_, _ = get(c, context.Background())
	}
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("two unhedged calls took %v: one should have waited for the lagging endpoint", d)
	}
}

func TestACallNotSafeToRepeatIsNeverHedged(t *testing.T) {
	t.Parallel()
	lagging, quick := newPeer(t, slow(100*time.Millisecond)), newPeer(t, ok)
	c := peerOf(httpclient.Options{}, httpclient.Endpoint{URL: lagging.URL}, httpclient.Endpoint{URL: quick.URL})
	hedged := httpclient.WithHedge(context.Background(), time.Millisecond)
	for range 6 {
		_ = c.Call(hedged, http.MethodPost, "/debits", map[string]int{"amount": 1}, nil, false)
	}
	if n := lagging.hits.Load() + quick.hits.Load(); n != 6 {
		t.Fatalf("6 unsafe calls made %d requests", n)
	}
}
