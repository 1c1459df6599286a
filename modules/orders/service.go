package orders

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	gateway "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/page"
	"github.com/uberservice/uberservice/platform/problem"
)

// service is the application layer of the orders context: it validates and
// places orders, starts their sagas, cancels them and follows their
// shipments. It is also the local implementation of the orders gateway, so
// other modules in this process get the very same behaviour as those calling
// over HTTP.
type service struct {
	db     *database.DB
	outbox *messaging.Outbox
	saga   *saga
	log    *slog.Logger
}

var _ gateway.Orders = (*service)(nil)

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

// Get implements gateway.Orders: the order, for a caller who may read it
// (readScope); an order of someone else's is ErrOrderNotFound, as if it did
// not exist.
func (s *service) Get(ctx context.Context, id uuid.UUID) (gateway.Order, error) {
	sc, err := readScope(ctx)
	if err != nil {
		return gateway.Order{}, err
	}
	o, found, err := orderByID(ctx, s.db.DB, id)
	if err != nil {
		return gateway.Order{}, problem.Wrapf(err, "orders: get")
	}
	if !found || !sc.covers(o) {
		return gateway.Order{}, notFound(id)
	}
	return o.dto(), nil
}

// List returns one page of the orders of account, newest first: those the
// caller placed, for a customer, every one for staff (readScope). An account
// of someone else's is an empty list, as an account with no orders is.
func (s *service) List(ctx context.Context, account uuid.UUID, req page.Request) (page.Page[gateway.Order], error) {
	sc, err := readScope(ctx)
	if err != nil {
		return page.Page[gateway.Order]{}, err
	}
	p, err := ordersOfAccount(ctx, s.db.DB, account, sc, req)
	if err != nil {
		return page.Page[gateway.Order]{}, problem.Wrapf(err, "orders: list")
	}
	return page.Map(p, order.dto), nil
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

// dto is the order as the contract shows it. The reason of a rejection shows
// once the order is rejected, that of a refused refund once the order is
// refund_failed; a line not yet priced shows a price of 0.
func (o order) dto() gateway.Order {
	out := gateway.Order{
		ID: o.ID, AccountID: o.AccountID, Customer: o.Customer, Status: o.Status, Total: o.Total, Currency: o.Currency,
		CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt, Lines: make([]gateway.Line, len(o.Lines)),
	}
	if o.Status == gateway.StatusRejected && o.RejectReason != nil {
		reason := *o.RejectReason
		out.RejectReason = &reason
	}
	if o.Status == gateway.StatusRefundFailed {
		out.RefundError = &gateway.RefundError{Code: deref(o.RefundError), Detail: deref(o.RefundErrorDetail)}
	}
	for i, l := range o.Lines {
		p := unitPrice(l)
		out.Lines[i] = gateway.Line{SKU: l.SKU, Quantity: l.Quantity, UnitPrice: p, LineTotal: p * l.Quantity}
	}
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
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
