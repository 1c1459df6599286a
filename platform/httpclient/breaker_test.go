package httpclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/httpclient"
	"github.com/uberservice/uberservice/platform/problem"
)

// peer is a test server that counts the requests reaching it and answers them
// with whatever behaviour is current.
type peer struct {
	*httptest.Server
	hits   atomic.Int32
	mu     sync.Mutex
	answer http.HandlerFunc
}

func newPeer(t *testing.T, answer http.HandlerFunc) *peer {
	t.Helper()
	p := &peer{answer: answer}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.hits.Add(1)
		p.mu.Lock()
		answer := p.answer
		p.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *peer) set(answer http.HandlerFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.answer = answer
}

func (p *peer) client(opts httpclient.Options) *httpclient.Client {
	opts.Log = slog.New(slog.DiscardHandler)
	return httpclient.New(p.URL, opts)
}

func answerProblem(pr *problem.Problem) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", problem.ContentType)
		w.WriteHeader(pr.Status)
		_ = json.NewEncoder(w).Encode(pr)
	}
}

func answerStatus(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { http.Error(w, http.StatusText(status), status) }
}

func ok(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"ok":true}`))
}

// dropConnection closes the connection without answering: a crashed peer.
func dropConnection(w http.ResponseWriter, _ *http.Request) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
	}
}

// hang answers only when the client has gone.
func hang(_ http.ResponseWriter, r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
	}
}

func call(c *httpclient.Client, method string) error {
	return c.Call(context.Background(), method, "/thing", nil, nil, false)
}

func expectOpen(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, problem.ErrUnavailable) || !errors.Is(err, httpclient.ErrCircuitOpen) {
		t.Fatalf("error %v, want an unavailable problem from the open breaker", err)
	}
}

func TestBreakerOpensAfterConsecutiveFailuresThenFailsFastWithoutCallingThePeer(t *testing.T) {
	for name, failure := range map[string]http.HandlerFunc{
		"connection dropped":  dropConnection,
		"timeout":             hang,
		"503 without problem": answerStatus(http.StatusServiceUnavailable),
		"502":                 answerStatus(http.StatusBadGateway),
		"503 problem":         answerProblem(problem.ErrUnavailable),
		"500 problem":         answerProblem(problem.ErrInternal),
		"500 without problem": answerStatus(http.StatusInternalServerError),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newPeer(t, failure)
			c := p.client(httpclient.Options{Timeout: 100 * time.Millisecond, FailureThreshold: 3, Cooldown: time.Minute})
			for i := range 3 {
				err := call(c, http.MethodPost)
				if err == nil || errors.Is(err, httpclient.ErrCircuitOpen) {
					t.Fatalf("call %d: %v, want the peer's failure", i+1, err)
				}
			}
			if s := c.CircuitState(); s != "open" {
				t.Fatalf("after 3 failures the breaker is %s", s)
			}
			start := time.Now()
			for range 10 {
				expectOpen(t, call(c, http.MethodPost))
				expectOpen(t, call(c, http.MethodGet)) // an idempotent call is not retried either
			}
			if took := time.Since(start); took > 50*time.Millisecond {
				t.Errorf("20 refused calls took %s; an open breaker must fail fast", took)
			}
			if n := p.hits.Load(); n != 3 {
				t.Fatalf("the peer got %d requests, want only the 3 before the breaker opened", n)
			}
		})
	}
}

func TestBreakerHalfOpensAfterTheCooldownAndClosesWhenThePeerRecovers(t *testing.T) {
	t.Parallel()
	const cooldown = 100 * time.Millisecond
	p := newPeer(t, answerStatus(http.StatusServiceUnavailable))
	c := p.client(httpclient.Options{Retries: -1, FailureThreshold: 2, Cooldown: cooldown})
	_, _ = call(c, http.MethodGet), call(c, http.MethodGet)
	expectOpen(t, call(c, http.MethodGet))

	t.Log("after the cool-down one probe goes through; it fails, so the breaker opens again")
	time.Sleep(cooldown + 20*time.Millisecond)
	if s := c.CircuitState(); s != "half-open" {
		t.Fatalf("after the cool-down the breaker is %s", s)
	}
	if err := call(c, http.MethodGet); err == nil || errors.Is(err, httpclient.ErrCircuitOpen) {
		t.Fatalf("probe: %v, want the peer's failure", err)
	}
	expectOpen(t, call(c, http.MethodGet))
	if n := p.hits.Load(); n != 3 {
		t.Fatalf("the peer got %d requests, want 2 + 1 probe", n)
	}

	t.Log("the peer recovers: while the probe is in flight the others still fail fast; its success closes the breaker")
	release := make(chan struct{})
	p.set(func(w http.ResponseWriter, r *http.Request) { <-release; ok(w, r) })
	time.Sleep(cooldown + 20*time.Millisecond)
	probe := make(chan error)
	go func() { probe <- call(c, http.MethodGet) }()
	for p.hits.Load() != 4 {
		time.Sleep(time.Millisecond)
	}
	expectOpen(t, call(c, http.MethodGet))
	close(release)
	if err := <-probe; err != nil {
		t.Fatalf("probe: %v", err)
	}
	if s := c.CircuitState(); s != "closed" {
		t.Fatalf("after a successful probe the breaker is %s", s)
	}
	for range 3 {
		if err := call(c, http.MethodGet); err != nil {
			t.Fatal(err)
		}
	}
	if n := p.hits.Load(); n != 7 {
		t.Fatalf("the peer got %d requests, want 7", n)
	}
}

// (An answer that is not the contract's does: see TestAnOstrich...)
func TestBusinessAnswersNeverOpenTheBreaker(t *testing.T) {
	t.Parallel()
	insufficientFunds := problem.New(http.StatusUnprocessableEntity, "insufficient_funds", "Insufficient funds")
	answers := []struct {
		answer http.HandlerFunc
		want   error // nil: any error
	}{
		{answerProblem(insufficientFunds.WithDetail("balance 10 USD")), insufficientFunds},
		{answerProblem(problem.ErrNotFound), problem.ErrNotFound},
		{answerProblem(problem.ErrConflict), problem.ErrConflict},
		{answerProblem(problem.Invalid(problem.Field("amount", "must be positive"))), problem.ErrInvalid},
		{answerProblem(problem.ErrMalformed), problem.ErrMalformed},
		{answerStatus(http.StatusNotFound), nil},
		{answerStatus(http.StatusTooManyRequests), nil},
	}
	p := newPeer(t, ok)
	// A threshold of 1: a single counted failure would open it.
	c := p.client(httpclient.Options{FailureThreshold: 1, Cooldown: time.Minute})
	for round := range 3 {
		for i, a := range answers {
			p.set(a.answer)
			var out map[string]any
			err := c.Call(context.Background(), http.MethodPost, "/debits", map[string]int{"amount": 1}, &out, false)
			if err == nil || errors.Is(err, problem.ErrUnavailable) || (a.want != nil && !errors.Is(err, a.want)) {
				t.Fatalf("round %d, answer %d: %v, want %v", round, i, err, a.want)
			}
			if s := c.CircuitState(); s != "closed" {
				t.Fatalf("round %d, answer %d (%v) left the breaker %s", round, i, err, s)
			}
		}
	}
	if n, want := p.hits.Load(), int32(3*len(answers)); n != want {
		t.Fatalf("the peer got %d requests, want %d", n, want)
	}
}

// script answers the statuses in order, then 200s.
func script(statuses ...int) http.HandlerFunc {
	var mu sync.Mutex
	return func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if len(statuses) == 0 {
			mu.Unlock()
			ok(w, r)
			return
		}
		s := statuses[0]
		statuses = statuses[1:]
		mu.Unlock()
		answerStatus(s)(w, r)
	}
}

func TestARetriedCallCountsOnceForTheBreaker(t *testing.T) {
	t.Parallel()
	const down = http.StatusServiceUnavailable
	p := newPeer(t, ok)
	c := p.client(httpclient.Options{Retries: 2, Backoff: time.Millisecond, FailureThreshold: 2, Cooldown: time.Minute})
	steps := []struct {
		name    string
		answers http.HandlerFunc
		fails   bool
		state   string
	}{
		{"fails twice, then succeeds on its last retry: a success", script(down, down), false, "closed"},
		{"fails all three attempts: one failure, not three", script(down, down, down), true, "closed"},
		{"succeeds on a retry: resets the failures in a row", script(down), false, "closed"},
		{"fails all three attempts: one failure in a row", script(down, down, down), true, "closed"},
		{"fails all three attempts: two in a row, the breaker opens", script(down, down, down), true, "open"},
	}
	for _, s := range steps {
		p.set(s.answers)
		err := call(c, http.MethodGet)
		if (err != nil) != s.fails || errors.Is(err, httpclient.ErrCircuitOpen) {
			t.Fatalf("%s: error %v", s.name, err)
		}
		if got := c.CircuitState(); got != s.state {
			t.Fatalf("%s: breaker %s, want %s", s.name, got, s.state)
		}
	}
	expectOpen(t, call(c, http.MethodGet))
	if n := p.hits.Load(); n != 3+3+2+3+3 {
		t.Fatalf("the peer got %d requests, want 14", n)
	}
}

func TestARetryingCallStopsWhenTheBreakerOpensMeanwhile(t *testing.T) {
	t.Parallel()
	p := newPeer(t, answerStatus(http.StatusServiceUnavailable))
	c := p.client(httpclient.Options{Retries: 5, Backoff: 200 * time.Millisecond, FailureThreshold: 1, Cooldown: time.Minute})
	retrying := make(chan error)
	go func() { retrying <- call(c, http.MethodGet) }()
	for p.hits.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	// While the GET waits to retry, a POST fails and opens the breaker.
	if err := call(c, http.MethodPost); err == nil {
		t.Fatal("the POST succeeded")
	}
	if err := <-retrying; !errors.Is(err, problem.ErrUnavailable) {
		t.Fatalf("the retrying GET: %v", err)
	}
	if n := p.hits.Load(); n != 2 {
		t.Fatalf("the peer got %d requests, want 2: the GET must stop retrying once the breaker is open", n)
	}
}

func TestCancelledCallsAreNotCountedButDeadlinesAre(t *testing.T) {
	t.Parallel()
	p := newPeer(t, hang)
	c := p.client(httpclient.Options{FailureThreshold: 1, Cooldown: time.Minute})

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if err := c.Call(ctx, http.MethodPost, "/thing", nil, nil, false); err == nil {
		t.Fatal("a cancelled call succeeded")
	}
	if s := c.CircuitState(); s != "closed" {
		t.Fatalf("a call the caller cancelled left the breaker %s", s)
	}

	// A peer slower than the caller can wait for is failing that caller.
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := c.Call(ctx, http.MethodPost, "/thing", nil, nil, false); !errors.Is(err, problem.ErrUnavailable) {
		t.Fatalf("a call past its deadline: %v", err)
	}
	if s := c.CircuitState(); s != "open" {
		t.Fatalf("a call past its deadline left the breaker %s", s)
	}
}

func TestANegativeThresholdDisablesTheBreaker(t *testing.T) {
	t.Parallel()
	p := newPeer(t, answerStatus(http.StatusServiceUnavailable))
	c := p.client(httpclient.Options{Retries: -1, FailureThreshold: -1})
	for range 20 {
		if err := call(c, http.MethodPost); err == nil || errors.Is(err, httpclient.ErrCircuitOpen) {
			t.Fatalf("error %v, want the peer's", err)
		}
	}
	if n := p.hits.Load(); n != 20 {
		t.Fatalf("the peer got %d requests, want 20", n)
	}
}
