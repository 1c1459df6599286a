package orders

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	gateway "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/idempotency"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/validate"
)

// Limits of an order.
const (
	maxLines    = 100
	maxSKU      = 64
	maxQuantity = 1_000_000_000
)

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
// Only a customer places orders (ownScope), for themselves: the order is the
// caller's, and its saga acts for them, so accounts debits none but their own
// accounts. To a customer, someone else's account does not exist: an order
// on one is rejected for unknown_account.
//
// key is the request's Idempotency-Key, "" for none. It is stored on the
// order, and is its customer's: a retry of theirs with the same key and
// request gets that order, after waiting a little for its saga to finish, and
// never starts a second saga (replayed is true); the same key with another
// request is problem.ErrIdempotencyMismatch. The same key sent by another
// customer is theirs, and places an order of their own.
// Orders keeps its keys itself, not through idempotency.Do, so it checks the
// key as Do would: a key idempotency.CheckKey refuses is never stored.
func (s *service) Place(ctx context.Context, req PlaceOrder, key string) (o gateway.Order, replayed bool, err error) {
	sc, err := ownScope(ctx)
	if err != nil {
		return gateway.Order{}, false, err
	}
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
	placed := order{ID: id, AccountID: account, Customer: sc.customer, Status: gateway.StatusPlaced, SagaStep: stepReserving, Lines: lines}
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
	placed.leasedAt = time.Now()
	err = s.db.Transact(database.Grouped(ctx, id.String()), func(tx *gorm.DB) error {
		inserted, err = insertOrder(tx, &placed, keyArg, token, s.saga.lease)
		return err
	})
	if err != nil {
		return gateway.Order{}, false, problem.Wrapf(err, "orders: place")
	}
	if !inserted {
		return s.replay(ctx, sc.customer, key, *placed.RequestHash)
	}
	s.log.InfoContext(ctx, "order placed", "order_id", id, "account_id", account, "lines", len(lines))

	// The saga goes on if the client hangs up: it is the order's, not the
	// request's. Its time is bounded all the same. run logs a failure, and
	// the recovery resumes the saga.
	sagaCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), syncTimeout)
	defer cancel()
	err = s.saga.run(sagaCtx, &placed, token)
	if err == nil {
		// The saga ended here: placed is the order as its last step
		// committed it, and nothing needs reading back.
		return placed.dto(), false, nil
	}
	if errors.Is(err, errLeaseLost) {
		s.log.InfoContext(ctx, "another driver took the saga over", "order_id", id, "step", placed.SagaStep)
	}
	return s.current(ctx, placed), false, nil
}

// replay answers a request of customer whose Idempotency-Key is already an
// order's of theirs.
func (s *service) replay(ctx context.Context, customer, key, hash string) (gateway.Order, bool, error) {
	prev, found, err := orderByKey(ctx, s.db.DB, customer, key)
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
