package messaging_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/messaging"
)

// A relay a batch behind holds its module's requests until its next pass;
// one that keeps up, or that fails because the bus is down, holds nothing.
func TestARelayBehindHoldsRequestsUntilItsNextPass(t *testing.T) {
	db := platformSchema(t, apptest.FreshDatabase(t), "held")
	bus := messaging.NewInProcess(slog.New(slog.DiscardHandler))
	t.Cleanup(func() { bus.Close() })
	relay := messaging.NewRelay(db, bus.Publisher(), "held", slog.New(slog.DiscardHandler))
	hold, pass := messaging.RelayHold(relay)

	waits := func(what string, want bool) {
		t.Helper()
		if !want {
			// Not held: it returns at once, where a held request waits for
			// the next pass or 50 ms.
			start := time.Now()
			hold(context.Background())
			if took := time.Since(start); took > 25*time.Millisecond {
				t.Fatalf("%s: a request was held %s, want it to go on", what, took)
			}
			return
		}
		done := make(chan struct{})
		go func() { hold(context.Background()); close(done) }()
		select {
		case <-done:
			t.Fatalf("%s: a request went on at once, want it held", what)
		case <-time.After(10 * time.Millisecond):
		}
		pass(0, nil)
		select {
		case <-done:
		case <-time.After(time.Second):
			t.Fatalf("%s: a request was still held after the relay's next pass", what)
		}
	}
	waits("a new relay", false)
	pass(messaging.RelayBehindAt-1, nil)
	waits("a pass that found less than a batch", false)
	pass(messaging.RelayBehindAt, nil)
	waits("a pass that found a batch", true)
	pass(messaging.RelayBehindAt, errors.New("bus down"))
	waits("a pass that failed", false)
}
