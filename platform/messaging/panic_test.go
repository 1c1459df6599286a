package messaging_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/messaging"
)

// A handler that panics has failed an attempt, as if it had returned an
// error: these tests run in the process the panic would otherwise kill, so
// each of them passing at all says that it did not.

// deadLetter waits for the consumer's one dead letter to be dead and returns it.
func deadLetter(t *testing.T, f *fixture) messaging.DeadLetter {
	t.Helper()
	var dl []messaging.DeadLetter
	apptest.Eventually(t, 10*time.Second, "the panicking event dead-lettered", func() bool {
		var err error
		dl, err = f.deadLetters(context.Background())
		return err == nil && len(dl) == 1 && dl[0].Status == "dead"
	})
	return dl[0]
}

// expectPanic fails the test unless text (a dead letter's error) records the
// panic: its value and the stack it came from, bounded.
func expectPanic(t *testing.T, text string, value string) {
	t.Helper()
	for _, want := range []string{
		"panic: " + value,
		"goroutine ",
		"messaging_test.newFixtureWith", // the frame that panicked: the fixture's handler
	} {
		if !strings.Contains(text, want) {
			t.Fatalf("recorded error does not contain %q:\n%s", want, text)
		}
	}
	if len(text) > 9<<10 {
		t.Fatalf("recorded error is %d bytes; the stack should be bounded", len(text))
	}
}

func (f *fixture) panicTimes() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.panics)
}

// A plain handler that panics on one event is retried with the policy's
// backoff and then dead-lettered with the panic and its stack, the way a
// failing one is; it is not redelivered for ever, and the events around it
// are handled.
func TestAPanickingHandlerIsRetriedWithBackoffThenDeadWhileOthersFlow(t *testing.T) {
	policy := messaging.RetryPolicy{MaxAttempts: 3, Backoff: 100 * time.Millisecond, MaxBackoff: 150 * time.Millisecond}
	f := newFixtureWith(t, policy, messaging.Handle[pinged])
	f.panicOn.Store(2)
	ctx := context.Background()
	for n := 1; n <= 3; n++ {
		f.publish(t, ctx, n)
	}
	dl := deadLetter(t, f)
	if dl.Attempts != 3 {
		t.Fatalf("dead letter after %d attempts, want 3", dl.Attempts)
	}
	expectPanic(t, dl.LastError, "poison 2")

	panics := f.panicTimes()
	if len(panics) != 3 {
		t.Fatalf("handler panicked %d times, want once per attempt: 3", len(panics))
	}
	for i, want := range []time.Duration{100 * time.Millisecond, 150 * time.Millisecond} {
		if gap := panics[i+1].Sub(panics[i]); gap < want {
			t.Errorf("retry %d came %s after the attempt before it, want at least %s", i+1, gap, want)
		}
	}

	f.publish(t, ctx, 4) // and events still flow
	apptest.Eventually(t, 5*time.Second, "every other event handled", func() bool { return f.seenCount(t) >= 3 })
	time.Sleep(200 * time.Millisecond) // a redelivery would show by now
	if seen, _ := f.handled(t); !slices.Equal(slices.Sorted(slices.Values(seen)), []int{1, 3, 4}) {
		t.Fatalf("handled %v, want 1, 3 and 4 once each", seen)
	}
	if got := len(f.panicTimes()); got != 3 {
		t.Fatalf("handler panicked %d times, want 3: a dead letter is not delivered again", got)
	}
}

// In a batch, one event that panics takes the batch's transaction down as a
// failing one would; each event is then applied on its own, so the others are
// handled once each and the panicking one alone is retried and dead-lettered.
func TestAPanickingEventInABatchIsDeadAndTheOthersAreHandledOnce(t *testing.T) {
	f := newFixture(t, messaging.RetryPolicy{MaxAttempts: 3, Backoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	f.panicOn.Store(7)
	ctx := context.Background()
	f.publishAll(t, ctx, 1, 40)
	dl := deadLetter(t, f)
	if dl.Attempts != 3 {
		t.Fatalf("dead letter after %d attempts, want 3", dl.Attempts)
	}
	expectPanic(t, dl.LastError, "poison 7")

	var want []int
	for n := 1; n <= 40; n++ {
		if n != 7 {
			want = append(want, n)
		}
	}
	apptest.Eventually(t, 10*time.Second, "every other event handled", func() bool { return f.seenCount(t) >= len(want) })
	time.Sleep(200 * time.Millisecond) // a second effect would show by now
	if seen, _ := f.handled(t); !slices.Equal(slices.Sorted(slices.Values(seen)), want) {
		t.Fatalf("effects of %v, want every event but 7, once each", seen)
	}
	var inbox int64
	if err := f.consumer.Raw("SELECT count(*) FROM inbox").Scan(&inbox).Error; err != nil || inbox != 39 {
		t.Fatalf("inbox has %d rows (%v), want 39: the panicking event's row rolled back with it", inbox, err)
	}
}

// An operator's replay of a dead letter whose handler panics again fails with
// the panic, and the dead letter stays dead with it; once the handler is
// fixed, a replay applies the event.
func TestAReplayThatPanicsAgainLeavesTheDeadLetterDead(t *testing.T) {
	f := newFixtureWith(t, messaging.RetryPolicy{MaxAttempts: 1}, messaging.Handle[pinged])
	f.panicOn.Store(5)
	ctx := context.Background()
	f.publish(t, ctx, 5)
	dl := deadLetter(t, f)
	expectPanic(t, dl.LastError, "poison 5")

	err := f.consumers.Replay(ctx, dl.ID)
	if err == nil {
		t.Fatal("a replay that panics succeeded")
	}
	expectPanic(t, err.Error(), "poison 5")
	again := deadLetter(t, f)
	if again.ID != dl.ID || again.Attempts != 2 {
		t.Fatalf("after the replay: %+v, want dead letter %d dead after 2 attempts", again, dl.ID)
	}
	expectPanic(t, again.LastError, "poison 5")
	if n := f.seenCount(t); n != 0 {
		t.Fatalf("%d events handled, want none", n)
	}

	f.panicOn.Store(0)
	if err := f.consumers.Replay(ctx, dl.ID); err != nil {
		t.Fatalf("replay with the handler fixed: %v", err)
	}
	if seen, _ := f.handled(t); !slices.Equal(seen, []int{5}) {
		t.Fatalf("handled %v after the replay, want 5", seen)
	}
	if left, err := f.deadLetters(ctx); err != nil || len(left) != 0 {
		t.Fatalf("dead letters %+v (%v) after a successful replay, want none", left, err)
	}
}

// A handler that fails on delivery and panics when the retry loop runs it
// again is dead-lettered with the panic, and the loop goes on retrying other
// messages.
func TestAPanicInTheRetryLoopIsAFailedAttempt(t *testing.T) {
	policy := messaging.RetryPolicy{MaxAttempts: 3, Backoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	f := newFixtureWith(t, policy, messaging.Handle[pinged])
	f.fail.Store(1)
	f.panicOn.Store(5)
	ctx := context.Background()
	f.publish(t, ctx, 5)
	dl := deadLetter(t, f)
	if dl.Attempts != 3 {
		t.Fatalf("dead letter after %d attempts, want 3", dl.Attempts)
	}
	expectPanic(t, dl.LastError, "poison 5")
	if got := len(f.panicTimes()); got != 2 {
		t.Fatalf("handler panicked %d times, want 2: in the loop's two retries", got)
	}

	// The loop is alive: a message that fails once is retried and handled.
	f.fail.Store(1)
	f.publish(t, ctx, 6)
	apptest.Eventually(t, 5*time.Second, "the retried event handled", func() bool { return f.seenCount(t) == 1 })
	if left, err := f.deadLetters(ctx); err != nil || len(left) != 1 {
		t.Fatalf("dead letters %+v (%v), want only the panicking one", left, err)
	}
}
