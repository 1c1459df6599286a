package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	gateway "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/gateway/orders/events"
	whevents "github.com/uberservice/uberservice/gateway/warehouse/events"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/idempotency"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/validate"
)

// Limits of an order.
const (
	maxLines    = 100
	maxSKU      = 64
	maxQuantity = 1_000_000_000
)

// Timing of the requests that run a saga.
const (
	// syncTimeout bounds the synchronous part of a saga: past it, the request
	// answers with the order as it stands and the recovery finishes it.
	syncTimeout = 15 * time.Second
	// awaitTimeout bounds how long a request waits for a saga that another
	// request (a retry's original, a concurrent cancel) is driving.
	awaitTimeout = 3 * time.Second
	awaitPoll    = 25 * time.Millisecond
)

// service is the application layer of the orders context: it validates and
// places orders, starts their sagas, cancels them and follows their
// shipments. It is also the local implementation of the orders gateway, so
// other modules in this process get the very same behaviour as those calling
// over HTTP.
type service struct {
	db   *database.DB
	saga *saga
	log  *slog.Logger
}

var _ gateway.Orders = (*service)(nil)

// PlaceOrder asks for an order.
type PlaceOrder struct {
	AccountID string      `json:"account_id"`
	Lines     []OrderLine `json:"lines"`
}

// OrderLine is a quantity of one product.
type OrderLine struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// validate checks every field, reporting all the invalid ones at once, and
// returns the order's account and its lines in SKU order.
func (r PlaceOrder) validate() (uuid.UUID, []line, error) {
	var v problem.Violations
	account, err := uuid.Parse(r.AccountID)
	switch {
	case r.AccountID == "":
		v.Add("account_id", "is required")
	case err != nil || account == uuid.Nil || len(r.AccountID) != 36:
		v.Add("account_id", "must be an account id, a UUID such as 0190a6f4-6d0e-7b8a-9c1d-2e3f4a5b6c7d")
	}
	switch n := len(r.Lines); {
	case n == 0:
		v.Add("lines", "must have at least one line")
	case n > maxLines:
		v.Add("lines", fmt.Sprintf("must have at most %d lines", maxLines))
	}
	seen := make(map[string]bool, len(r.Lines))
	lines := make([]line, 0, len(r.Lines))
	for i, l := range r.Lines {
		field := fmt.Sprintf("lines[%d]", i)
		if validate.RequiredText(&v, field+".sku", l.SKU, maxSKU) && seen[l.SKU] {
			v.Add(field+".sku", "is already in another line: give each product once, with its whole quantity")
		}
		seen[l.SKU] = true
		if l.Quantity < 1 || l.Quantity > maxQuantity {
			v.Add(field+".quantity", fmt.Sprintf("must be between 1 and %d", maxQuantity))
		}
		lines = append(lines, line{SKU: l.SKU, Quantity: l.Quantity})
	}
	if err := v.Err(); err != nil {
		return uuid.Nil, nil, err
	}
	slices.SortFunc(lines, func(a, b line) int { return strings.Compare(a.SKU, b.SKU) })
	return account, lines, nil
}

// requestHash identifies a request for its Idempotency-Key: the hash of its
// canonical form, the account and the lines in SKU order, so that the same
// order written in another order of lines is the same request.
func requestHash(account uuid.UUID, lines []line) (string, error) {
	canonical := struct {
		AccountID uuid.UUID   `json:"account_id"`
		Lines     []OrderLine `json:"lines"`
	}{AccountID: account, Lines: make([]OrderLine, len(lines))}
	for i, l := range lines {
		canonical.Lines[i] = OrderLine{SKU: l.SKU, Quantity: l.Quantity}
	}
	return idempotency.RequestHash(canonical)
}

// Place places an order and runs its saga as far as it goes now: the answer
// is the order paid, or rejected with its reason. When a dependency is
// unavailable, or anything unexpected stops the saga, the order stays placed
// at its last persisted step and Place still answers it, status "placed": the
// order exists and the recovery finishes it, so a dependency outage is never
// a failure of the request.
//
// key is the request's Idempotency-Key, possibly empty. It is stored on the
// order: a retry with the same key and request gets that order, after waiting
// a little for its saga to finish, and never starts a second saga (replayed is
// true); the same key with another request is problem.ErrIdempotencyMismatch.
func (s *service) Place(ctx context.Context, req PlaceOrder, key string) (o gateway.Order, replayed bool, err error) {
	if err := idempotency.CheckKey(key); err != nil {
		return gateway.Order{}, false, err
	}
	account, lines, err := req.validate()
	if err != nil {
		return gateway.Order{}, false, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return gateway.Order{}, false, fmt.Errorf("orders: place: new id: %w", err)
	}
	placed := order{ID: id, AccountID: account, Status: gateway.StatusPlaced, SagaStep: stepReserving, Lines: lines}
	var keyArg *string
	if key != "" {
		hash, err := requestHash(account, lines)
		if err != nil {
			return gateway.Order{}, false, problem.Wrapf(err, "orders: place")
		}
		keyArg, placed.RequestHash = &key, &hash
	}
	token := uuid.New()
	inserted := false
	err = s.db.Transact(ctx, func(tx *gorm.DB) error {
		inserted, err = insertOrder(ctx, tx, &placed, keyArg, token, s.saga.lease)
		return err
	})
	if err != nil {
		return gateway.Order{}, false, problem.Wrapf(err, "orders: place")
	}
	if !inserted {
		return s.replay(ctx, key, *placed.RequestHash)
	}
	s.log.InfoContext(ctx, "order placed", "order_id", id, "account_id", account, "lines", len(lines))

	// The saga goes on if the client hangs up: it is the order's, not the
	// request's. Its time is bounded all the same.
	sagaCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncTimeout)
	defer cancel()
	switch err := s.saga.drive(sagaCtx, &placed, token); {
	case errors.Is(err, errLeaseLost):
		s.log.InfoContext(ctx, "another driver took the saga over", "order_id", id, "step", placed.SagaStep)
	case err != nil:
		s.log.WarnContext(ctx, "the saga stopped before its end; the recovery will resume it",
			"order_id", id, "step", placed.SagaStep, "error", err)
	}
	return s.current(ctx, placed), false, nil
}

// replay answers a request whose Idempotency-Key is already an order's.
func (s *service) replay(ctx context.Context, key, hash string) (gateway.Order, bool, error) {
	prev, found, err := orderByKey(ctx, s.db.DB, key)
	if err != nil {
		return gateway.Order{}, false, problem.Wrapf(err, "orders: place")
	}
	if !found {
		return gateway.Order{}, false, errors.New("orders: place: the order of an Idempotency-Key vanished")
	}
	if prev.RequestHash == nil || *prev.RequestHash != hash {
		return gateway.Order{}, false, problem.ErrIdempotencyMismatch
	}
	s.log.InfoContext(ctx, "order replayed for its Idempotency-Key", "order_id", prev.ID, "status", prev.Status)
	o := s.await(ctx, prev, func(o order) bool { return o.Status != gateway.StatusPlaced })
	return o.dto(), true, nil
}

// await polls o until done holds, awaitTimeout passes or ctx ends, and
// returns o as last read.
func (s *service) await(ctx context.Context, o order, done func(order) bool) order {
	deadline := time.Now().Add(awaitTimeout)
	for !done(o) && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return o
		case <-time.After(awaitPoll):
		}
		cur, found, err := orderByID(ctx, s.db.DB, o.ID)
		if err != nil || !found {
			return o
		}
		o = cur
	}
	return o
}

// current reads o again, after a saga; when the database cannot say, o as
// the saga left it is the best answer there is.
func (s *service) current(ctx context.Context, o order) gateway.Order {
	cur, found, err := orderByID(ctx, s.db.DB, o.ID)
	if err != nil || !found {
		s.log.WarnContext(ctx, "cannot read the order back; answering it as the saga left it", "order_id", o.ID, "error", err)
		return o.dto()
	}
	return cur.dto()
}

// Get implements gateway.Orders.
func (s *service) Get(ctx context.Context, id uuid.UUID) (gateway.Order, error) {
	o, found, err := orderByID(ctx, s.db.DB, id)
	if err != nil {
		return gateway.Order{}, problem.Wrapf(err, "orders: get")
	}
	if !found {
		return gateway.Order{}, notFound(id)
	}
	return o.dto(), nil
}

// List returns the orders of account, newest first.
func (s *service) List(ctx context.Context, account uuid.UUID) ([]gateway.Order, error) {
	list, err := ordersOfAccount(ctx, s.db.DB, account)
	if err != nil {
		return nil, problem.Wrapf(err, "orders: list")
	}
	out := make([]gateway.Order, len(list))
	for i, o := range list {
		out[i] = o.dto()
	}
	return out, nil
}

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

// onShipmentDispatched makes a paid order shipped, once: the update and its
// event commit with the handler's inbox record. A redelivery, or an order in
// any other state, changes nothing; an order this context does not know is
// logged and the event is done, since retrying cannot make it known.
func (s *service) onShipmentDispatched(ctx context.Context, tx *gorm.DB, e whevents.ShipmentDispatched) error {
	if e.OrderID == uuid.Nil || e.ShipmentID == uuid.Nil {
		return messaging.Permanent(fmt.Errorf("shipment_dispatched is incomplete: order %s, shipment %s", e.OrderID, e.ShipmentID))
	}
	log := s.log.With("order_id", e.OrderID, "shipment_id", e.ShipmentID)
	shippedAt, shipped, err := markShipped(ctx, tx, e.OrderID)
	if err != nil {
		return err
	}
	if shipped {
		if err := messaging.Publish(ctx, tx, events.OrderShipped{OrderID: e.OrderID, ShipmentID: e.ShipmentID, ShippedAt: shippedAt}); err != nil {
			return err
		}
		log.InfoContext(ctx, "order shipped")
		return nil
	}
	o, found, err := orderByID(ctx, tx, e.OrderID)
	switch {
	case err != nil:
		return err
	case !found:
		log.WarnContext(ctx, "shipment dispatched for an order this context does not know; ignored")
	case o.Status == gateway.StatusShipped:
		log.InfoContext(ctx, "order already shipped; nothing to do")
	default:
		log.WarnContext(ctx, "shipment dispatched for an order that is not paid; ignored", "status", o.Status)
	}
	return nil
}

// dto is the order as the contract shows it. The reason of a rejection shows
// once the order is rejected; a line not yet priced shows a price of 0.
func (o order) dto() gateway.Order {
	out := gateway.Order{
		ID: o.ID, AccountID: o.AccountID, Status: o.Status, Total: o.Total, Currency: o.Currency,
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, Lines: make([]gateway.Line, len(o.Lines)),
	}
	if o.Status == gateway.StatusRejected && o.RejectReason != nil {
		reason := *o.RejectReason
		out.RejectReason = &reason
	}
	for i, l := range o.Lines {
		p := unitPrice(l)
		out.Lines[i] = gateway.Line{SKU: l.SKU, Quantity: l.Quantity, UnitPrice: p, LineTotal: p * l.Quantity}
	}
	return out
}

func unitPrice(l line) int64 {
	if l.UnitPrice == nil {
		return 0
	}
	return *l.UnitPrice
}

func notFound(id uuid.UUID) error {
	return gateway.ErrOrderNotFound.WithDetail("no order %s", id)
}
