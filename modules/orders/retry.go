package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/failpoint"
	"github.com/uberservice/uberservice/platform/problem"
)

// A saga that stops short of its end (a dependency is down, or something
// unexpected failed) is retried with growing spacing rather than at every
// pass of the recovery: an outage of minutes is not hammered every few
// seconds, and neither is a saga that fails for a reason no retry fixes, which
// the ops route counts meanwhile (sagas_retrying). The attempts and the time
// of the next are on the order, so every instance honours them, and they are
// forgotten once the saga is done.
const (
	// retryBase is the wait after the first failed attempt; each further
	// failure doubles it.
	retryBase = 2 * time.Second
	// retryMax caps the wait: a saga is tried at least that often, so it
	// finishes within that long of its dependency coming back.
	retryMax = 5 * time.Minute
)

// retryDelay is the wait after the n-th failed attempt in a row.
func retryDelay(n int) time.Duration {
	d := retryBase
	for i := 1; i < n && d < retryMax; i++ {
		d *= 2
	}
	return min(d, retryMax)
}

// run drives o's saga like drive and, when it stops short of its end for a
// reason of its own, records the failed attempt, the time before which the
// recovery leaves it alone, and lets the lease go. A lost lease and a
// refused cancellation are outcomes, not failures, and a driver stopped by
// its caller (a shutdown) or by a failpoint (a crash) has not failed: those
// change nothing. It logs the failure and returns drive's error, for the
// caller to tell the outcomes. The saga acts for o's customer (forCustomer),
// whoever drives it.
func (s *saga) run(ctx context.Context, o *order, token uuid.UUID) error {
	ctx = forCustomer(ctx, *o)
	err := s.drive(ctx, o, token)
	switch {
	case err == nil, errors.Is(err, errLeaseLost), errors.Is(err, errDispatched):
		return err
	case errors.Is(err, failpoint.ErrAbandoned):
		return err // a crash, in a test: it records nothing and keeps its lease
	case errors.Is(ctx.Err(), context.Canceled):
		s.log.InfoContext(ctx, "the saga was stopped by its caller; its lease will expire", "order_id", o.ID, "step", o.SagaStep)
		return err
	}
	// The attempt is recorded even when ctx ran out of time: that is how it
	// failed.
	recordCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	n, wait := o.Attempts+1, retryDelay(o.Attempts+1)
	postponed, recErr := postpone(recordCtx, s.db.DB, o.ID, token, n, wait)
	level := slog.LevelError
	if errors.Is(err, problem.ErrUnavailable) {
		level = slog.LevelWarn // an outage: expected, and retried
	}
	switch {
	case recErr != nil:
		s.log.ErrorContext(ctx, "the saga stopped short and its attempt could not be recorded; the recovery resumes it once its lease expires",
			"order_id", o.ID, "step", o.SagaStep, "error", err, "record_error", recErr)
	case postponed:
		o.Attempts = n
		s.log.Log(ctx, level, "the saga stopped short; the recovery will try again",
			"order_id", o.ID, "step", o.SagaStep, "attempts", n, "retry_in", wait, "error", err)
	default:
		s.log.InfoContext(ctx, "the saga stopped short and another driver has it now", "order_id", o.ID, "error", err)
	}
	return err
}

// postpone records the n-th failed attempt on the saga of order id, while
// token holds it, sets the next one wait from now on the database's clock,
// and lets the lease go. postponed is false when token no longer holds it.
func postpone(ctx context.Context, db *gorm.DB, id, token uuid.UUID, n int, wait time.Duration) (postponed bool, err error) {
	res := db.WithContext(ctx).Exec(`UPDATE orders SET attempts = ?, next_attempt_at = now() + ? * interval '1 millisecond',
			lease_until = NULL, lease_token = NULL
		WHERE id = ? AND lease_token = ? AND saga_step <> 'done'`, n, wait.Milliseconds(), id, token)
	if res.Error != nil {
		return false, fmt.Errorf("record a failed attempt on order %s: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}
