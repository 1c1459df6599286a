package orders

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/gateway/accounts"
	gateway "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/gateway/orders/events"
	"github.com/uberservice/uberservice/gateway/warehouse"
	"github.com/uberservice/uberservice/platform/failpoint"
	"github.com/uberservice/uberservice/platform/problem"
)

// Cancel cancels a paid order: its stock goes back to the warehouse, its total
// back to the account, and it becomes cancelled. A cancelled order is
// answered as it is. A placed, rejected or shipped order, or one whose stock
// has already been dispatched, is gateway.ErrNotCancellable. An order whose
// refund accounts refused, now or before, is refund_failed and
// gateway.ErrRefundFailed: asking again cannot help.
//
// Only the customer who placed the order cancels it (ownScope): a refund
// moves money, and staff never move money. Someone else's order is
// ErrOrderNotFound, as if it did not exist.
//
// done is false when the cancellation is recorded but could not finish now (a
// dependency is unavailable, or another request is running it): the order is
// still paid, and the recovery completes the cancellation.
func (s *service) Cancel(ctx context.Context, id uuid.UUID) (o gateway.Order, done bool, err error) {
	sc, err := ownScope(ctx)
	if err != nil {
		return gateway.Order{}, false, err
	}
	for attempt := 0; ; attempt++ {
		cur, found, err := orderByID(ctx, s.db.DB, id)
		if err != nil {
			return gateway.Order{}, false, problem.Wrapf(err, "orders: cancel")
		}
		if !found || !sc.covers(cur) {
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
			// gone, even before the recovery's next attempt, since the
			// customer asks now; wait for it otherwise.
			claimed, ok, err = takeOver(ctx, s.db.DB, id, token, s.saga.lease)
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
		err = s.saga.run(sagaCtx, &claimed, token) // run logs a failure; the recovery resumes it
		cancel()
		if errors.Is(err, errDispatched) {
			return gateway.Order{}, false, gateway.ErrNotCancellable.WithDetail("the stock of order %s has already been dispatched", id)
		}
		after, found, err := orderByID(ctx, s.db.DB, id)
		if err != nil || !found {
			after = claimed // as the saga left it: the best answer there is
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
	case o.Status == gateway.StatusRefundFailed:
		e := o.dto().RefundError
		return gateway.Order{}, false, gateway.ErrRefundFailed.WithDetail(
			"order %s is refund_failed: accounts refused to refund its %d %s (%s: %s); its stock went back, an operator must settle the refund",
			o.ID, o.Total, o.Currency, e.Code, e.Detail)
	default:
		return gateway.Order{}, false, gateway.ErrNotCancellable.WithDetail("order %s is %s", o.ID, o.Status)
	}
}

// cancel gives a paid order's stock back and refunds it. Stock that has left
// the warehouse cannot come back: the order then stays paid (errDispatched).
// A refund that accounts refuses for good leaves the order refund_failed:
// the stock stays released (the goods are back on the shelf, the shipment was
// cancelled with the release), no order_cancelled is published, since nothing
// was refunded, and the saga is over, since asking again gets the same answer.
// The money is the operator's to settle.
func (s *saga) cancel(ctx context.Context, o *order, token uuid.UUID) error {
	callCtx, done, err := s.hold(ctx, o, token)
	if err != nil {
		return err
	}
	defer done()
	err = s.warehouse.Release(callCtx, o.ID)
	if err := failpoint.Inject(fpAfterCancelRelease); err != nil {
		return err
	}
	switch {
	case errors.Is(err, warehouse.ErrAlreadyDispatched):
		err := s.db.Transact(ctx, func(tx *gorm.DB) error {
			return s.persist(ctx, tx, o, token, move{from: stepCancelling, to: stepDone})
		})
		if err != nil {
			return err
		}
		s.log.InfoContext(ctx, "order not cancelled: its stock was already dispatched", "order_id", o.ID)
		return errDispatched
	case err != nil:
		return dependency("warehouse", "release", err)
	}
	if o.Total > 0 {
		_, err := s.accounts.Credit(callCtx, accounts.Movement{
			AccountID: o.AccountID, Amount: o.Total, Currency: o.Currency, Reference: o.ID.String(),
		})
		if err := failpoint.Inject(fpAfterRefund); err != nil {
			return err
		}
		if code, refused := refusal(err); refused {
			return s.refundFailed(ctx, o, token, code, err)
		}
		if err != nil {
			return dependency("accounts", "refund", err)
		}
	}
	cancelled := gateway.StatusCancelled
	err = s.db.Transact(ctx, func(tx *gorm.DB) error {
		if err := s.persist(ctx, tx, o, token, move{from: stepCancelling, to: stepDone, status: &cancelled}); err != nil {
			return err
		}
		return s.outbox.Publish(ctx, tx, events.OrderCancelled{
			OrderID: o.ID, AccountID: o.AccountID, Refunded: o.Total, Currency: o.Currency, CancelledAt: o.UpdatedAt,
		})
	})
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "order cancelled and refunded", "order_id", o.ID, "refunded", o.Total, "currency", o.Currency)
	return nil
}

// refusal says whether err is accounts refusing a refund for good, and why:
// one of the errors the accounts gateway declares for a request it will never
// accept, or a validation problem. Anything else may pass (an outage, a
// timeout, a 5xx, a 4xx nobody declared) and is retried, with backoff; the
// ops route counts such sagas, so one that never passes is seen.
func refusal(err error) (code string, refused bool) {
	switch {
	case err == nil:
		return "", false
	case errors.Is(err, accounts.ErrReferenceConflict):
		return gateway.RefundReferenceConflict, true
	case errors.Is(err, accounts.ErrBalanceLimit):
		return gateway.RefundBalanceLimit, true
	case errors.Is(err, accounts.ErrCurrencyMismatch):
		return gateway.RefundCurrencyMismatch, true
	case errors.Is(err, accounts.ErrAccountNotFound):
		return gateway.RefundUnknownAccount, true
	case errors.Is(err, problem.ErrInvalid):
		return gateway.RefundRefused, true
	}
	return "", false
}

// refundFailed ends the cancellation of o in refund_failed for code, with
// the words of accounts' refusal err. It is logged at ERROR here, once, since
// the saga is over and nothing takes it up again.
func (s *saga) refundFailed(ctx context.Context, o *order, token uuid.UUID, code string, err error) error {
	p := problem.From(err)
	detail := p.Detail
	if detail == "" {
		detail = p.Title
	}
	for _, f := range p.Errors { // a validation problem says which field
		detail += "; " + f.Field + " " + f.Message
	}
	failed := gateway.StatusRefundFailed
	if err := s.db.Transact(ctx, func(tx *gorm.DB) error {
		return s.persist(ctx, tx, o, token, move{from: stepCancelling, to: stepDone, status: &failed,
			refundError: &code, refundDetail: &detail})
	}); err != nil {
		return err
	}
	s.log.ErrorContext(ctx, "accounts refused the refund of a cancelled order: it is refund_failed, its stock released, and an operator must settle the refund",
		"order_id", o.ID, "account_id", o.AccountID, "amount", o.Total, "currency", o.Currency, "code", code, "error", err)
	return nil
}
