package worker

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// run starts l and returns a stop that cancels it and waits for it.
func run(t *testing.T, l *Loop) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx, time.Second); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestANudgeRunsARoundAndAnIdleLoopSleeps(t *testing.T) {
	var rounds atomic.Int32
	l := New("test", func(context.Context) (time.Duration, error) {
		rounds.Add(1)
		return time.Hour, nil
	}, time.Hour, slog.New(slog.DiscardHandler))
	run(t, l)
	eventually(t, "the first round", func() bool { return rounds.Load() == 1 })
	l.Nudge()
	eventually(t, "the nudged round", func() bool { return rounds.Load() == 2 })
	time.Sleep(50 * time.Millisecond)
	if n := rounds.Load(); n != 2 {
		t.Fatalf("%d rounds with nothing to do, want 2", n)
	}
}

func TestMoreWorkRunsAgainAtOnce(t *testing.T) {
	var rounds atomic.Int32
	l := New("test", func(context.Context) (time.Duration, error) {
		if rounds.Add(1) < 5 {
			return 0, nil
		}
		return time.Hour, nil
	}, time.Hour, slog.New(slog.DiscardHandler)).Settle(time.Hour)
	run(t, l)
	// A settle of an hour would show: rounds with more work do not settle.
	eventually(t, "five rounds", func() bool { return rounds.Load() == 5 })
}

func TestSettleMergesABurstOfNudgesIntoOneRound(t *testing.T) {
	var rounds atomic.Int32
	l := New("test", func(context.Context) (time.Duration, error) {
		rounds.Add(1)
		return time.Hour, nil
	}, time.Hour, slog.New(slog.DiscardHandler)).Settle(100 * time.Millisecond)
	run(t, l)
	eventually(t, "the first round", func() bool { return rounds.Load() == 1 })
	for range 20 {
		l.Nudge()
		time.Sleep(time.Millisecond)
	}
	eventually(t, "the settled round", func() bool { return rounds.Load() == 2 })
	time.Sleep(150 * time.Millisecond)
	if n := rounds.Load(); n > 3 {
		t.Fatalf("%d rounds for a burst of 20 nudges within one settle, want at most 3", n)
	}
}

func TestCancelRunsAFinalRound(t *testing.T) {
	var rounds atomic.Int32
	l := New("test", func(context.Context) (time.Duration, error) {
		rounds.Add(1)
		return time.Hour, nil
	}, time.Hour, slog.New(slog.DiscardHandler)).Settle(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx, time.Second); close(done) }()
	eventually(t, "the first round", func() bool { return rounds.Load() == 1 })
	l.Nudge() // settling for an hour: only the cancel's final round runs it
	time.Sleep(10 * time.Millisecond)
	cancel()
	<-done
	if n := rounds.Load(); n != 2 {
		t.Fatalf("%d rounds, want the first and the final one", n)
	}
}
