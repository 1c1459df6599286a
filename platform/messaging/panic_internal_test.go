package messaging

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"gorm.io/gorm"
)

// The stack a panic leaves is the one Go would print had it crashed, without
// the frames of the recovery, and bounded.
func TestAPanicsStackIsTrimmedAndBounded(t *testing.T) {
	var deep func(n int) error
	deep = func(n int) error {
		if n == 0 {
			panic("deep enough")
		}
		return deep(n - 1)
	}
	err := callSafely(func() error { return deep(500) })
	var p *panicError
	if !errors.As(err, &p) {
		t.Fatalf("callSafely returned %v, want a *panicError", err)
	}
	lines := strings.Split(err.Error(), "\n")
	if lines[0] != "panic: deep enough" || !strings.HasPrefix(lines[2], "goroutine ") || !strings.HasPrefix(lines[3], "panic(") {
		t.Fatalf("error does not read like Go's crash output:\n%s", strings.Join(lines[:min(len(lines), 8)], "\n"))
	}
	if strings.Contains(err.Error(), "callSafely") || strings.Contains(err.Error(), "debug.Stack") {
		t.Fatalf("stack still holds the recovery's frames:\n%s", err)
	}
	if len(p.stack) > maxPanicStack+len("\n... (stack truncated)") || !strings.HasSuffix(err.Error(), "(stack truncated)") {
		t.Fatalf("stack of %d bytes, want at most %d and marked truncated", len(p.stack), maxPanicStack)
	}
	if err := callSafely(func() error { return errors.New("plain") }); err == nil || err.Error() != "plain" {
		t.Fatalf("callSafely changed an error: %v", err)
	}
}

// brokenConsumers are consumers whose own code panics: they have no database.
func brokenConsumers() *Consumers {
	return NewConsumers("broken", nil, RetryPolicy{}, slog.New(slog.DiscardHandler))
}

// A panic in a batch worker outside the module's code fails the deliveries
// of its batch, and the worker lives on to take the next one.
func TestAPanicInABatchWorkerFailsItsBatchAndTheWorkerLivesOn(t *testing.T) {
	c := brokenConsumers()
	h := &handler{name: "broken.t", topic: "t", apply: func(context.Context, *gorm.DB, []byte) error { return nil }}
	b := newBatcher(c, h)
	defer b.stop()
	// More deliveries than workers: were a worker lost to a panic, a
	// delivery would wait for ever.
	for range 2 * batchWorkers {
		err := b.apply(context.Background(), "m1", nil)
		var p *panicError
		if !errors.As(err, &p) || !strings.Contains(err.Error(), "messaging: batch of broken.t: panic: ") {
			t.Fatalf("delivery to a panicking batch worker: %v, want the panic", err)
		}
	}
}

// A panic in a round of the retry loop is a failed round, not a dead process.
func TestAPanicInARetryRoundFailsTheRound(t *testing.T) {
	_, err := brokenConsumers().retryStep(context.Background())
	var p *panicError
	if !errors.As(err, &p) || !strings.Contains(err.Error(), "messaging: retry loop of broken: panic: ") {
		t.Fatalf("retry round: %v, want the panic", err)
	}
}
