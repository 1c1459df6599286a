package orders

import (
	"context"
	"errors"

	"github.com/google/uuid"

	gateway "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/platform/problem"
)

// Cancel cancels a paid order: its stock goes back to the warehouse, its total
// back to the account, and it becomes cancelled. A cancelled order is
// answered as it is. A placed, rejected or shipped order, or one whose stock
// has already been dispatched, is gateway.ErrNotCancellable.
//
// done is false when the cancellation is recorded but could not finish now (a
// dependency is unavailable, or another request is running it): the order is
// still paid, and the recovery completes the cancellation.
func (s *service) Cancel(ctx context.Context, id uuid.UUID) (o gateway.Order, done bool, err error) {
	for attempt := 0; ; attempt++ {
		cur, found, err := orderByID(ctx, s.db.DB, id)
		if err != nil {
			return gateway.Order{}, false, problem.Wrapf(err, "orders: cancel")
		}
		if !found {
			return gateway.Order{}, false, notFound(id)
		}
		if cur.Status != gateway.StatusPaid {
			return cancelOutcome(cur)
		}
		switch {
		case attempt > 0 && cur.SagaStep == stepCancelling:
			return cancelOutcome(cur) // still under way elsewhere: accepted
		case attempt == 3:
			return gateway.Order{}, false, problem.ErrConflict.WithDetail("order %s kept changing while being cancelled; try again", id)
		}
		token := uuid.New()
		var claimed order
		var ok bool
		if cur.SagaStep == stepDone {
			claimed, ok, err = startCancel(ctx, s.db.DB, id, token, s.saga.lease)
		} else {
			// A cancellation is under way: take it over when its driver is
			// gone, wait for it otherwise.
			claimed, ok, err = claim(ctx, s.db.DB, id, token, s.saga.lease)
		}
		if err != nil {
			return gateway.Order{}, false, problem.Wrapf(err, "orders: cancel")
		}
		if !ok {
			s.await(ctx, cur, func(o order) bool { return o.Status != gateway.StatusPaid || o.SagaStep == stepDone })
			continue // look again: the order changed under us
		}
		s.log.InfoContext(ctx, "cancelling order", "order_id", id)
		sagaCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncTimeout)
		err = s.saga.drive(sagaCtx, &claimed, token)
		cancel()
		switch {
		case errors.Is(err, errDispatched):
			return gateway.Order{}, false, gateway.ErrNotCancellable.WithDetail("the stock of order %s has already been dispatched", id)
		case err != nil:
			s.log.WarnContext(ctx, "the cancellation stopped before its end; the recovery will resume it",
				"order_id", id, "error", err)
		}
		after, found, err := orderByID(ctx, s.db.DB, id)
		if err != nil || !found {
			return claimed.dto(), claimed.Status == gateway.StatusCancelled, nil
		}
		return cancelOutcome(after)
	}
}

// cancelOutcome is the answer to a cancellation that finds o.
func cancelOutcome(o order) (gateway.Order, bool, error) {
	switch {
	case o.Status == gateway.StatusCancelled:
		return o.dto(), true, nil
	case o.Status == gateway.StatusPaid && o.SagaStep == stepCancelling:
		return o.dto(), false, nil
	default:
		return gateway.Order{}, false, gateway.ErrNotCancellable.WithDetail("order %s is %s", o.ID, o.Status)
	}
}
