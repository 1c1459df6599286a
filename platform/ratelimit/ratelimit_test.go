package ratelimit

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/web"
)

// clock is a Limiter's time, moved by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTestLimiter(cfg Config) (*Limiter, *clock) {
	l := New(cfg)
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l.now = c.now
	return l, c
}

func TestBurstThenRate(t *testing.T) {
	l, c := newTestLimiter(Config{PerSecond: 2, Burst: 3})
	for i := range 3 {
		if ok, _ := l.Allow("alice"); !ok {
			t.Fatalf("request %d of the burst refused", i+1)
		}
	}
	ok, wait := l.Allow("alice")
	if ok || wait <= 0 || wait > 500*time.Millisecond {
		t.Fatalf("after the burst: ok=%v wait=%s, want refused for at most 500ms", ok, wait)
	}
	if ok, _ := l.Allow("bob"); !ok {
		t.Fatal("bob was refused for alice's requests")
	}
	c.t = c.t.Add(wait)
	if ok, _ := l.Allow("alice"); !ok {
		t.Fatal("alice refused once her wait was over")
	}
	if ok, _ := l.Allow("alice"); ok {
		t.Fatal("alice allowed twice on one token")
	}
}

func TestRefusedRequestsTakeNoToken(t *testing.T) {
	l, c := newTestLimiter(Config{PerSecond: 1, Burst: 1})
	l.Allow("alice")
	for range 100 {
		l.Allow("alice") // refused, and must not push her next token further away
	}
	c.t = c.t.Add(time.Second)
	if ok, _ := l.Allow("alice"); !ok {
		t.Fatal("refused requests delayed alice's next token")
	}
}

func TestKeysAreBounded(t *testing.T) {
	l, _ := newTestLimiter(Config{PerSecond: 1, Burst: 1, MaxKeys: 10})
	for i := range 1000 {
		l.Allow(fmt.Sprint("key-", i))
	}
	if got := l.Keys(); got != 10 {
		t.Fatalf("%d keys remembered, want 10", got)
	}
	// The most recent keys are the ones kept: key-999 has no token left.
	if ok, _ := l.Allow("key-999"); ok {
		t.Fatal("the most recent key was forgotten")
	}
}

func TestOff(t *testing.T) {
	var l *Limiter = New(Config{})
	if l != nil {
		t.Fatal("a zero rate made a limiter")
	}
	for range 1000 {
		if ok, _ := l.Allow("alice"); !ok {
			t.Fatal("a nil limiter refused")
		}
	}
}

func TestMiddlewareAnswers429WithRetryAfter(t *testing.T) {
	e := web.New("test", slog.New(slog.DiscardHandler))
	l, _ := newTestLimiter(Config{PerSecond: 0.5, Burst: 1})
	reached := 0
	e.GET("/v1/things", func(c echo.Context) error {
		reached++
		return c.NoContent(http.StatusNoContent)
	}, l.Middleware(func(c echo.Context) string { return c.Request().Header.Get("X-Who") }))
	do := func(who string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/v1/things", nil)
		req.Header.Set("X-Who", who)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		return rec
	}
	if rec := do("alice"); rec.Code != http.StatusNoContent {
		t.Fatalf("first request: %d", rec.Code)
	}
	rec := do("alice")
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("second request: %d, want 429", rec.Code)
	}
	if got := rec.Header().Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After %q, want 2", got)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q", ct)
	}
	var p struct{ Code string }
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code != "rate_limited" {
		t.Errorf("body %s: code %q, %v", rec.Body, p.Code, err)
	}
	if reached != 1 {
		t.Errorf("the handler ran %d times, want 1", reached)
	}
	for range 5 {
		if rec := do(""); rec.Code != http.StatusNoContent {
			t.Fatalf("a request with no key was limited: %d", rec.Code)
		}
	}
}
