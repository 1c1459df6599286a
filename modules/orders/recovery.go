package orders

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/platform/worker"
)

// Timing of the recovery.
const (
	// recoveryInterval is how often the recovery looks for sagas to resume.
	recoveryInterval = 2 * time.Second
	// recoverBatch and recoverParallel bound one recovery pass's queries and
	// the sagas it drives at once.
	recoverBatch    = 100
	recoverParallel = 4
)

// Recover resumes every unfinished saga that is due: the ones a crashed or
// stopped instance left, once their lease expired, and the ones a dependency
// outage stopped, once the wait their last failed attempt set is over. Each is
// claimed first, so that several instances recovering at once drive each saga
// once, and driven forward, or through its compensation, as far as it goes
// now. A saga that cannot finish now is logged and postponed (run), not
// reported: the error is the recovery's own failures only, so a long outage
// is not an ERROR at every pass.
func (s *saga) Recover(ctx context.Context) error {
	var (
		mu   sync.Mutex
		errs []error
	)
	after := uuid.Nil
	for {
		ids, err := claimable(ctx, s.db.DB, after, recoverBatch)
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("orders: recovery: %w", err))...)
		}
		var wg sync.WaitGroup
		sem := make(chan struct{}, recoverParallel)
		for _, id := range ids {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if err := s.recoverOne(ctx, id); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(ids) < recoverBatch || ctx.Err() != nil {
			break
		}
		after = ids[len(ids)-1]
	}
	return errors.Join(errs...)
}

// recoverOne claims the saga of order id, if it is still due, and runs it.
func (s *saga) recoverOne(ctx context.Context, id uuid.UUID) error {
	token := uuid.New()
	o, claimed, err := claim(ctx, s.db.DB, id, token, s.lease)
	if err != nil {
		return fmt.Errorf("orders: recovery: %w", err)
	}
	if !claimed {
		return nil // another instance took it, or it finished meanwhile
	}
	s.recoveries.Inc(sagaName)
	s.log.InfoContext(ctx, "resuming an unfinished saga", "order_id", id, "step", o.SagaStep, "status", o.Status,
		"attempts", o.Attempts)
	_ = s.run(ctx, &o, token) // run logs a failure and postpones the saga
	return nil
}

// RunRecovery runs Recover at once, then every few seconds, until ctx is
// cancelled. At start-up it resumes every saga a previous process left, as
// soon as that process's leases expire. It is the module's background work.
func (s *saga) RunRecovery(ctx context.Context) {
	step := func(ctx context.Context) (time.Duration, error) {
		return recoveryInterval, s.Recover(ctx)
	}
	// No final round at shutdown: a saga started then would only be cut short.
	worker.New("orders.saga_recovery", step, recoveryInterval, s.log).Run(ctx, 0)
}
