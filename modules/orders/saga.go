package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/gateway/accounts"
	gateway "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/gateway/orders/events"
	"github.com/uberservice/uberservice/gateway/warehouse"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/failpoint"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/metrics"
	"github.com/uberservice/uberservice/platform/problem"
)

// The saga of an order, orchestrated here:
//
//	reserving    reserve the stock (warehouse.Reserve) and price the order
//	                                        -> debiting, or rejected
//	debiting     debit the account (accounts.Debit, reference = order id;
//	             a free order: accounts.Get) -> paid, or compensating
//	compensating give the stock back (warehouse.Release) -> rejected
//	cancelling   (a paid order) give the stock back, refund the account
//	                                        -> cancelled, back to paid when the
//	                                           stock was dispatched, or
//	                                           refund_failed when accounts
//	                                           refuses the refund for good
//
// The step to run next is persisted on the order (saga_step) in the same
// transaction as everything the previous step learnt, so a crash at any point
// leaves an order that names what is left to do. Every call to another context
// is idempotent per order (Reserve and Release by order id, Debit and Credit
// by the order id as reference), so running a step again after a crash that
// hid its outcome has no second effect: nothing is charged twice, and no stock
// is reserved twice.
//
// One driver at a time: a driver holds the order's lease (lease_token and
// lease_until), claimed atomically and renewed before every step, and every
// step it persists is conditional on still holding it. A step's calls are
// given up a margin before the lease could expire, so a driver that was too
// slow has stopped calling other contexts by the time a newcomer may take the
// saga over; its next step is refused and it stops, and the newcomer repeats
// the idempotent calls and carries on. Without that bound, a stale debit
// could land after a newcomer had compensated and rejected the order.

// Saga steps, persisted in orders.saga_step: the step to run next.
const (
	stepReserving    = "reserving"
	stepDebiting     = "debiting"
	stepCompensating = "compensating"
	stepCancelling   = "cancelling"
	stepDone         = "done"
)

// Failpoints of the saga, for crash tests (platform/failpoint).
const (
	fpAfterReserve       = "orders.saga.after_reserve"        // Reserve answered, nothing persisted
	fpAfterReserveSaved  = "orders.saga.after_reserve_saved"  // prices persisted, step debiting
	fpAfterDebit         = "orders.saga.after_debit"          // Debit answered, nothing persisted
	fpBeforeRelease      = "orders.saga.before_release"       // step compensating persisted, nothing released
	fpAfterRelease       = "orders.saga.after_release"        // compensation released, not yet rejected
	fpAfterCancelRelease = "orders.saga.after_cancel_release" // a cancellation released the stock
	fpAfterRefund        = "orders.saga.after_refund"         // a cancellation refunded, not yet cancelled
)

// defaultLease is how long a driver holds a saga without renewing it. It is
// short because a crashed driver's sagas wait that long before another
// instance may resume them.
const defaultLease = 10 * time.Second

var (
	// errLeaseLost stops a driver whose saga another driver has taken over.
	errLeaseLost = errors.New("orders: the saga was taken over by another driver")
	// errDispatched ends a cancellation that came too late: the order's
	// stock has left the warehouse.
	errDispatched = errors.New("orders: the order's stock was already dispatched")
)

// saga drives orders through their saga.
type saga struct {
	db        *database.DB
	outbox    *messaging.Outbox
	accounts  accounts.Accounts
	warehouse warehouse.Warehouse
	log       *slog.Logger
	lease     time.Duration
	// recoveries counts the sagas the recovery resumes (metrics.go).
	recoveries *metrics.Counter
}

func newSaga(db *database.DB, outbox *messaging.Outbox, acc accounts.Accounts, wh warehouse.Warehouse, log *slog.Logger) *saga {
	return &saga{db: db, outbox: outbox, accounts: acc, warehouse: wh, log: log, lease: defaultLease}
}

// drive runs o's saga from its persisted step until it is done, or until a
// step cannot complete now: a dependency is unavailable, something
// unexpected failed, or the driver lost its lease. The order then stays at the
// last step persisted, for the recovery to resume. token is the driver's lease.
func (s *saga) drive(ctx context.Context, o *order, token uuid.UUID) error {
	for o.SagaStep != stepDone {
		var err error
		switch o.SagaStep {
		case stepReserving:
			err = s.reserve(ctx, o, token)
		case stepDebiting:
			err = s.debit(ctx, o, token)
		case stepCompensating:
			err = s.compensate(ctx, o, token)
		case stepCancelling:
			err = s.cancel(ctx, o, token)
		default:
			err = fmt.Errorf("orders: order %s is at unknown saga step %q", o.ID, o.SagaStep)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// reserve sets the stock aside. An unknown SKU or too little stock rejects
// the order at once, with nothing to give back (a reservation is all or
// nothing); lines priced in several currencies, or at a total no balance can
// hold, are given back first.
//
// The account is not looked up first: the debit says whether it is the
// customer's, as a lookup would (an order on an unknown account, or on
// someone else's, is given its stock back and rejected for
// unknown_account). A lookup would spare such an order a reservation and its
// release, and cost every order a call to accounts, over the network when
// accounts runs apart.
func (s *saga) reserve(ctx context.Context, o *order, token uuid.UUID) error {
	callCtx, done, err := s.hold(ctx, o, token)
	if err != nil {
		return err
	}
	defer done()
	req := warehouse.ReserveRequest{OrderID: o.ID, Lines: make([]warehouse.Line, len(o.Lines))}
	for i, l := range o.Lines {
		req.Lines[i] = warehouse.Line{SKU: l.SKU, Quantity: l.Quantity}
	}
	res, err := s.warehouse.Reserve(callCtx, req)
	if err := failpoint.Inject(fpAfterReserve); err != nil {
		return err
	}
	switch {
	case errors.Is(err, warehouse.ErrUnknownSKU):
		return s.reject(ctx, o, token, gateway.RejectUnknownSKU)
	case errors.Is(err, warehouse.ErrOutOfStock):
		return s.reject(ctx, o, token, gateway.RejectOutOfStock)
	case err != nil:
		return dependency("warehouse", "reserve", err)
	}
	prices, total, currency, reason, err := price(o.Lines, res)
	if err != nil {
		return fmt.Errorf("orders: order %s: %w", o.ID, err)
	}
	if reason != "" {
		return s.startCompensation(ctx, o, token, reason)
	}
	err = s.transact(ctx, o, func(tx *gorm.DB) error {
		// The step first: it carries the BEGIN, and the prices go with the
		// COMMIT.
		if err := s.persist(ctx, tx, o, token, move{from: stepReserving, to: stepDebiting, total: &total, currency: &currency}); err != nil {
			return err
		}
		for sku, p := range prices {
			if err := setUnitPrice(tx, o.ID, sku, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := range o.Lines {
		p := prices[o.Lines[i].SKU]
		o.Lines[i].UnitPrice = &p
	}
	o.Total, o.Currency = total, currency
	s.log.InfoContext(ctx, "order stock reserved", "order_id", o.ID, "total", total, "currency", currency)
	return failpoint.Inject(fpAfterReserveSaved)
}

// price reads the unit prices of a reservation and totals them. A reservation
// that does not match the order's lines is a broken contract, an error; a
// reservation the order cannot be paid from is a reason to reject it.
func price(lines []line, r warehouse.Reservation) (prices map[string]int64, total int64, currency, reason string, err error) {
	reserved := make(map[string]warehouse.ReservedLine, len(r.Lines))
	for _, rl := range r.Lines {
		reserved[rl.SKU] = rl
	}
	if len(reserved) != len(lines) {
		return nil, 0, "", "", fmt.Errorf("the reservation has %d lines, the order %d", len(reserved), len(lines))
	}
	prices = make(map[string]int64, len(lines))
	overflow := false
	for _, l := range lines {
		rl, ok := reserved[l.SKU]
		if !ok || rl.Quantity != l.Quantity || rl.UnitPrice < 0 {
			return nil, 0, "", "", fmt.Errorf("the reservation of %s is %+v, the order asks for %d", l.SKU, rl, l.Quantity)
		}
		switch {
		case currency == "":
			currency = rl.Currency
		case currency != rl.Currency:
			reason = gateway.RejectCurrencyMismatch
		}
		prices[l.SKU] = rl.UnitPrice
		// quantity and price are both >= 0: guard the product and the sum.
		if rl.UnitPrice != 0 && l.Quantity > math.MaxInt64/rl.UnitPrice {
			overflow = true
			continue
		}
		lineTotal := l.Quantity * rl.UnitPrice
		if total > math.MaxInt64-lineTotal {
			overflow = true
			continue
		}
		total += lineTotal
	}
	if reason == "" && overflow {
		// No balance, an int64, can pay a total beyond int64.
		reason = gateway.RejectInsufficientFunds
	}
	return prices, total, currency, reason, nil
}

// debit takes the order's total from the account. The order id is the debit's
// reference, so a debit repeated after a crash returns the first one. A
// refusal of the account sends the saga to compensation.
func (s *saga) debit(ctx context.Context, o *order, token uuid.UUID) error {
	callCtx, done, err := s.hold(ctx, o, token)
	if err != nil {
		return err
	}
	err = s.charge(callCtx, o)
	done()
	if err := failpoint.Inject(fpAfterDebit); err != nil {
		return err
	}
	switch {
	case errors.Is(err, accounts.ErrInsufficientFunds):
		return s.startCompensation(ctx, o, token, gateway.RejectInsufficientFunds)
	case errors.Is(err, accounts.ErrCurrencyMismatch):
		return s.startCompensation(ctx, o, token, gateway.RejectCurrencyMismatch)
	case errors.Is(err, accounts.ErrAccountNotFound):
		return s.startCompensation(ctx, o, token, gateway.RejectUnknownAccount)
	case errors.Is(err, problem.ErrInvalid):
		// The account refuses the amount itself (beyond what one movement
		// may carry): asking again cannot change that, and the account
		// cannot pay it.
		s.log.WarnContext(ctx, "the account refused the debit of the order's total", "order_id", o.ID, "total", o.Total, "error", err)
		return s.startCompensation(ctx, o, token, gateway.RejectInsufficientFunds)
	case err != nil:
		return dependency("accounts", "debit", err)
	}
	err = s.transact(ctx, o, func(tx *gorm.DB) error {
		paid := gateway.StatusPaid
		if err := s.persist(ctx, tx, o, token, move{from: stepDebiting, to: stepDone, status: &paid}); err != nil {
			return err
		}
		e := events.OrderPaid{OrderID: o.ID, AccountID: o.AccountID, Total: o.Total, Currency: o.Currency, PaidAt: o.UpdatedAt,
			Lines: make([]events.Line, len(o.Lines))}
		for i, l := range o.Lines {
			e.Lines[i] = events.Line{SKU: l.SKU, Quantity: l.Quantity, UnitPrice: unitPrice(l)}
		}
		return s.outbox.Publish(ctx, tx, e)
	})
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "order paid", "order_id", o.ID, "total", o.Total, "currency", o.Currency)
	return nil
}

// charge debits o's total from its account. A free order has nothing to
// debit, but its account must still be one the customer may order from:
// accounts looks it up instead.
func (s *saga) charge(ctx context.Context, o *order) error {
	if o.Total == 0 {
		_, err := s.accounts.Get(ctx, o.AccountID)
		return err
	}
	_, err := s.accounts.Debit(ctx, accounts.Movement{
		AccountID: o.AccountID, Amount: o.Total, Currency: o.Currency, Reference: o.ID.String(),
	})
	return err
}

// reject ends a saga that reserved nothing.
func (s *saga) reject(ctx context.Context, o *order, token uuid.UUID, reason string) error {
	return s.finishRejected(ctx, o, token, move{from: stepReserving, reason: &reason})
}

// startCompensation records that the order will be rejected for reason once
// its stock is given back. From then on, whatever happens, the saga can only
// end rejected.
func (s *saga) startCompensation(ctx context.Context, o *order, token uuid.UUID, reason string) error {
	s.log.InfoContext(ctx, "order to be rejected; giving its stock back", "order_id", o.ID, "reason", reason)
	return s.transact(ctx, o, func(tx *gorm.DB) error {
		return s.persist(ctx, tx, o, token, move{from: o.SagaStep, to: stepCompensating, reason: &reason})
	})
}

// compensate gives the order's stock back, then rejects it.
func (s *saga) compensate(ctx context.Context, o *order, token uuid.UUID) error {
	if err := failpoint.Inject(fpBeforeRelease); err != nil {
		return err
	}
	callCtx, done, err := s.hold(ctx, o, token)
	if err != nil {
		return err
	}
	defer done()
	if err := s.warehouse.Release(callCtx, o.ID); err != nil {
		return dependency("warehouse", "release", err)
	}
	if err := failpoint.Inject(fpAfterRelease); err != nil {
		return err
	}
	return s.finishRejected(ctx, o, token, move{from: stepCompensating})
}

// finishRejected rejects the order and says so, in one transaction. m says
// where the saga comes from and, when it is new, the reason.
func (s *saga) finishRejected(ctx context.Context, o *order, token uuid.UUID, m move) error {
	rejected := gateway.StatusRejected
	m.to, m.status = stepDone, &rejected
	err := s.transact(ctx, o, func(tx *gorm.DB) error {
		if err := s.persist(ctx, tx, o, token, m); err != nil {
			return err
		}
		return s.outbox.Publish(ctx, tx, events.OrderRejected{
			OrderID: o.ID, AccountID: o.AccountID, Reason: *o.RejectReason, RejectedAt: o.UpdatedAt,
		})
	})
	if err != nil {
		return err
	}
	s.log.InfoContext(ctx, "order rejected", "order_id", o.ID, "reason", *o.RejectReason)
	return nil
}

// hold renews the driver's lease on o before a step calls another context,
// and returns the context for those calls: it ends a fifth of the lease
// before the lease could expire, measured from before the renewal, so on the
// safe side of the database's clock. It is errLeaseLost when o's saga is no
// longer the driver's.
func (s *saga) hold(ctx context.Context, o *order, token uuid.UUID) (context.Context, context.CancelFunc, error) {
	// A lease this driver took or renewed less than a quarter of a lease
	// ago (the order's insert, the last step's persist) is held for a
	// quarter more at least, and no other driver may take it before it
	// expires: the calls get until half a lease after it was taken, without
	// a write (and a commit) to renew it.
	if !o.leasedAt.IsZero() && time.Since(o.leasedAt) < s.lease/4 {
		callCtx, cancel := context.WithDeadline(ctx, o.leasedAt.Add(s.lease/2))
		return callCtx, cancel, nil
	}
	start := time.Now()
	renewed, err := renewLease(ctx, s.db.DB, o.ID, token, s.lease)
	if err != nil {
		return nil, nil, err
	}
	if !renewed {
		return nil, nil, errLeaseLost
	}
	callCtx, cancel := context.WithDeadline(ctx, start.Add(s.lease-s.lease/5))
	return callCtx, cancel, nil
}

// persist applies m to o in tx, in the database and then in memory, or
// returns errLeaseLost when the driver no longer holds o's saga.
func (s *saga) persist(ctx context.Context, tx *gorm.DB, o *order, token uuid.UUID, m move) error {
	// Before the statement, which renews the lease from its transaction's
	// start: a moment no later than that start would be safer still, and
	// hold's margin of half a lease covers the difference.
	leasedAt := time.Now()
	updatedAt, moved, err := moveSaga(tx, o.ID, token, s.lease, m)
	if err != nil {
		return err
	}
	if !moved {
		return errLeaseLost
	}
	o.SagaStep, o.UpdatedAt, o.leasedAt = m.to, updatedAt, leasedAt
	if m.status != nil {
		o.Status = *m.status
	}
	if m.reason != nil {
		o.RejectReason = m.reason
	}
	if m.refundError != nil {
		o.RefundError, o.RefundErrorDetail = m.refundError, m.refundDetail
	}
	if m.to == stepDone {
		o.Attempts, o.NextAttemptAt = 0, nil
	}
	return nil
}

// transact runs fn, a step of o's saga, in a transaction that may commit in
// a group with other orders' steps: each locks only its own order's row,
// reads through QueryRow and defers its other writes (database.Grouped).
func (s *saga) transact(ctx context.Context, o *order, fn func(tx *gorm.DB) error) error {
	return s.db.Transact(database.Grouped(ctx, o.ID.String()), fn)
}

// dependency says which call of which context failed. The order stays at its
// step; the cause, an outage (problem.ErrUnavailable) or anything else, stays
// in the chain for the log.
func dependency(peer, call string, err error) error {
	return fmt.Errorf("orders: %s: %s: %w", peer, call, err)
}
