// Package worker runs a background step when it is nudged, when its own timer
// says so, or after an error, and never spins when there is nothing to do.
//
// The outbox relay, the retry of failed messages and the mail dispatcher are all
// such loops: each is nudged right after the transaction that gave it work
// commits, and falls back to a slow timer only to recover from a missed nudge.
package worker

import (
	"context"
	"log/slog"
	"time"
)

// Step does one round of work. It returns how long the loop may sleep before the
// next round when nobody nudges it: zero means there is more work right now.
type Step func(ctx context.Context) (wait time.Duration, err error)

// Loop calls a Step repeatedly.
type Loop struct {
	name  string
	step  Step
	idle  time.Duration
	log   *slog.Logger
	nudge chan struct{}
	// settle is how long a nudge waits before the round it asks for, so that
	// the work of the nudges that follow meanwhile is done in the same round.
	settle time.Duration
}

// New returns a loop that sleeps at most idle between rounds.
func New(name string, step Step, idle time.Duration, log *slog.Logger) *Loop {
	return &Loop{name: name, step: step, idle: idle, log: log, nudge: make(chan struct{}, 1)}
}

// Settle makes each nudge wait d before its round runs, so that a burst of
// nudges becomes one round over all their work instead of a round each: for
// work whose latency matters less than its cost, such as sending email. It
// returns l, and must be called before Run.
func (l *Loop) Settle(d time.Duration) *Loop {
	l.settle = d
	return l
}

// Nudge wakes the loop. It never blocks: nudges that arrive while one is already
// pending are merged.
func (l *Loop) Nudge() {
	select {
	case l.nudge <- struct{}{}:
	default:
	}
}

// Run runs the loop until ctx is cancelled, then runs one last round bounded by
// finalTimeout so that work committed before shutdown is not left behind.
func (l *Loop) Run(ctx context.Context, finalTimeout time.Duration) {
	failures := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalTimeout)
			l.drain(fctx)
			cancel()
			return
		case <-l.nudge:
			if l.settle > 0 && !l.wait(ctx, l.settle) {
				continue // cancelled: the next turn drains
			}
		case <-timer.C:
		}
		wait, err := l.step(ctx)
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			failures++
			wait = backoff(failures)
			l.log.ErrorContext(ctx, "background step failed", "worker", l.name, "error", err, "retry_in", wait)
		} else {
			failures = 0
		}
		if wait < 0 {
			wait = 0 // more work now: the timer fires at once, with no settling
		}
		if wait > l.idle {
			wait = l.idle
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(wait)
	}
}

// wait sleeps d, and reports false when ctx ends first.
func (l *Loop) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// drain runs rounds until the step reports no immediate work or ctx expires.
func (l *Loop) drain(ctx context.Context) {
	for ctx.Err() == nil {
		wait, err := l.step(ctx)
		if err != nil {
			l.log.ErrorContext(ctx, "final background step failed", "worker", l.name, "error", err)
			return
		}
		if wait > 0 {
			return
		}
	}
}

func backoff(failures int) time.Duration {
	d := 100 * time.Millisecond << min(failures, 7)
	return min(d, 10*time.Second)
}
