package contract_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/platform/contract"
	"github.com/uberservice/uberservice/platform/httpclient"
)

func TestOnlyAMethodSafeToRepeatMayBeHedged(t *testing.T) {
	for name, build := range map[string]func(){
		"sent once":     func() { contract.Method("Put", store.Put, "POST /items").Hedged(time.Millisecond) },
		"no delay":      func() { contract.Method("Get", store.Get, "GET /items/{id}").Idempotent().Hedged(0) },
		"action":        func() { contract.Action("Drop", store.Drop, "DELETE /items/{id}").Hedged(time.Millisecond) },
		"before safety": func() { contract.Method("Get", store.Get, "GET /items/{id}").Hedged(time.Millisecond).Idempotent() },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Hedged did not refuse", name)
				}
			}()
			build()
		}()
	}
	contract.Method("Get", store.Get, "GET /items/{id}").Idempotent().Hedged(time.Millisecond)
	contract.Method("Put", store.Put, "POST /items").IdempotentIf(func(v string) bool { return v != "" }).Hedged(time.Millisecond)
}

var (
	hedgedGet = contract.Method("Get", store.Get, "GET /items/{id}").Idempotent().Hedged(10 * time.Millisecond)
	hedgedPut = contract.Method("Put", store.Put, "POST /items").IdempotentIf(func(v string) bool { return v != "" }).Hedged(time.Millisecond)
)

// A hedged method races the peer's endpoints; an IdempotentIf one only when
// its input makes the call safe to send twice.
func TestAHedgedMethodRacesTheEndpoints(t *testing.T) {
	var hits atomic.Int32
	lagging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		select {
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
		_, _ = w.Write([]byte(`"slow"`))
	}))
	defer lagging.Close()
	quick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = w.Write([]byte(`"quick"`))
	}))
	defer quick.Close()
	c := httpclient.NewPeer([]httpclient.Endpoint{{URL: lagging.URL}, {URL: quick.URL}}, httpclient.Options{Log: slog.New(slog.DiscardHandler)})
	for range 4 {
		start := time.Now()
		got, err := hedgedGet.Call(context.Background(), c, uuid.New())
		if err != nil || got != "quick" || time.Since(start) > 150*time.Millisecond {
			t.Fatalf("%q, %v after %v, want the quick endpoint's answer at once", got, err, time.Since(start))
		}
	}
	hits.Store(0)
	for range 4 {
		_, _ = hedgedPut.Call(context.Background(), c, "") // no reference: sent once
	}
	if n := hits.Load(); n != 4 {
		t.Fatalf("4 calls not safe to repeat made %d requests", n)
	}
}
