package warehouse

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	gateway "github.com/uberservice/uberservice/gateway/warehouse"
	"github.com/uberservice/uberservice/platform/contract"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/validate"
)

// Reserve implements gateway.Warehouse. The reservation row is claimed first:
// it is the order's lock, so that racing calls for one order get one
// reservation, and it vanishes with everything else when a line cannot be
// served. The lines of the answer follow the order of req.Lines.
//
// The person a call is made for (the customer placing the order) is no part
// of the rule, nor of Release's: stock belongs to no person, and whose order
// it is and who may place one is the orders module's to say. A reservation
// belongs to the module that made it.
func (s *service) Reserve(ctx context.Context, req gateway.ReserveRequest) (gateway.Reservation, error) {
	if err := checkReserve(req); err != nil {
		return gateway.Reservation{}, err
	}
	caller := contract.CallingModule(ctx)
	var out gateway.Reservation
	err := s.db.Transact(ctx, func(tx *gorm.DB) error {
		r, created, err := claimReservation(tx, req.OrderID, caller)
		if err != nil {
			return err
		}
		if !created {
			out, err = existingReservation(tx, req, caller)
			return err
		}
		lines, err := reserveLines(tx, req.Lines)
		if err != nil {
			return err
		}
		if err := insertReservationLines(tx, req.OrderID, lines); err != nil {
			return err
		}
		out = gateway.Reservation{OrderID: r.OrderID, Status: r.Status, Lines: lines, CreatedAt: r.CreatedAt}
		return nil
	})
	if err != nil {
		return gateway.Reservation{}, problem.Wrapf(err, "warehouse: reserve")
	}
	return out, nil
}

// checkReserve validates a reservation request before it reaches the
// database. A malformed sku names no product, so it is ErrUnknownSKU, exactly
// like a well-formed unknown one: the caller (an order) is rejected for the
// same reason either way.
func checkReserve(req gateway.ReserveRequest) error {
	var v problem.Violations
	if req.OrderID == uuid.Nil {
		v.Add("order_id", "is required")
	}
	switch n := len(req.Lines); {
	case n == 0:
		v.Add("lines", "at least one line is required")
	case n > MaxLines:
		// Say so once, rather than once per line of a request of any size.
		v.Add("lines", fmt.Sprintf("at most %d lines", MaxLines))
		return v.Err()
	}
	seen := make(map[string]bool, len(req.Lines))
	for i, l := range req.Lines {
		field := fmt.Sprintf("lines[%d]", i)
		switch {
		case l.SKU == "":
			v.Add(field+".sku", "is required")
		case seen[l.SKU]:
			v.Add(field+".sku", "appears on another line; give each sku once")
		}
		seen[l.SKU] = true
		validate.Positive(&v, field+".quantity", l.Quantity, MaxQuantity)
	}
	if err := v.Err(); err != nil {
		return err
	}
	for _, l := range req.Lines {
		if !skuPattern.MatchString(l.SKU) {
			return gateway.ErrUnknownSKU.WithDetail("no product %s", quoteSKU(l.SKU))
		}
	}
	return nil
}

// reserveLines sets stock aside for every line or, when one cannot be served,
// for none. The products are locked in sku order, so that concurrent
// reservations over the same products queue instead of deadlocking.
func reserveLines(tx *gorm.DB, lines []gateway.Line) ([]gateway.ReservedLine, error) {
	skus := make([]string, len(lines))
	for i, l := range lines {
		skus[i] = l.SKU
	}
	slices.Sort(skus)
	products, err := lockProducts(tx, skus)
	if err != nil {
		return nil, err
	}
	bySKU := make(map[string]Product, len(products))
	for _, p := range products {
		bySKU[p.SKU] = p
	}
	var unknown, short []string
	for _, l := range lines {
		p, ok := bySKU[l.SKU]
		switch {
		case !ok:
			unknown = append(unknown, quoteSKU(l.SKU))
		case p.Available < l.Quantity:
			short = append(short, fmt.Sprintf("%s (%d available, %d asked)", quoteSKU(l.SKU), p.Available, l.Quantity))
		}
	}
	if len(unknown) > 0 {
		return nil, gateway.ErrUnknownSKU.WithDetail("no product %s", strings.Join(unknown, ", "))
	}
	if len(short) > 0 {
		return nil, gateway.ErrOutOfStock.WithDetail("not enough stock of %s", strings.Join(short, ", "))
	}
	out := make([]gateway.ReservedLine, len(lines))
	for i, l := range lines {
		if err := reserveStock(tx, l.SKU, l.Quantity); err != nil {
			return nil, err
		}
		p := bySKU[l.SKU]
		out[i] = gateway.ReservedLine{SKU: l.SKU, Quantity: l.Quantity, UnitPrice: p.Price, Currency: p.Currency}
	}
	return out, nil
}

// existingReservation answers a Reserve for an order that already has a
// reservation: the same lines get it again, whatever their order and whatever
// became of it since (a dispatched reservation says so), unless it was
// released; other lines are a conflict.
func existingReservation(tx *gorm.DB, req gateway.ReserveRequest, caller string) (gateway.Reservation, error) {
	r, found, err := lockReservation(tx, req.OrderID)
	if err != nil {
		return gateway.Reservation{}, err
	}
	if !found {
		return gateway.Reservation{}, fmt.Errorf("reservation of order %s vanished while being read", req.OrderID)
	}
	if !r.ownedBy(caller) {
		return gateway.Reservation{}, gateway.ErrReservationConflict.WithDetail("order %s's reservation is another module's", req.OrderID)
	}
	if r.Status == gateway.StatusReleased {
		return gateway.Reservation{}, gateway.ErrReservationReleased.WithDetail("order %s released its stock", req.OrderID)
	}
	stored, err := reservationLines(tx, req.OrderID)
	if err != nil {
		return gateway.Reservation{}, err
	}
	bySKU := make(map[string]gateway.ReservedLine, len(stored))
	for _, l := range stored {
		bySKU[l.SKU] = l
	}
	lines := make([]gateway.ReservedLine, 0, len(req.Lines))
	for _, l := range req.Lines {
		got, ok := bySKU[l.SKU]
		if !ok || got.Quantity != l.Quantity {
			break
		}
		lines = append(lines, got)
	}
	if len(lines) != len(req.Lines) || len(lines) != len(stored) {
		return gateway.Reservation{}, gateway.ErrReservationConflict.WithDetail("order %s reserved other lines", req.OrderID)
	}
	return gateway.Reservation{OrderID: r.OrderID, Status: r.Status, Lines: lines, CreatedAt: r.CreatedAt}, nil
}

// Release implements gateway.Warehouse.
func (s *service) Release(ctx context.Context, orderID uuid.UUID) error {
	if orderID == uuid.Nil {
		return problem.Invalid(problem.Field("order_id", "is required"))
	}
	// A reservation is its maker's to release: to any other module it is
	// as if there were none, and nothing happens.
	caller := contract.CallingModule(ctx)
	var was string
	err := s.db.Transact(ctx, func(tx *gorm.DB) (err error) {
		if r, found, err := lockReservation(tx, orderID); err != nil || (found && !r.ownedBy(caller)) {
			return err
		}
		was, err = release(tx, orderID)
		return err
	})
	if err != nil {
		return problem.Wrapf(err, "warehouse: release")
	}
	if was == gateway.StatusReserved {
		s.log.InfoContext(ctx, "reservation released", "order_id", orderID)
	}
	return nil
}

// release gives an order's reserved stock back and cancels its shipment if it
// is still being picked; it is what Release and an order's cancellation share.
// It answers the status the reservation had, "" when there was none. The
// reservation's lock serializes it with a dispatch of the same order, so stock
// is either released or shipped, never both.
func release(tx *gorm.DB, orderID uuid.UUID) (was string, err error) {
	r, found, err := lockReservation(tx, orderID)
	if err != nil || !found {
		return "", err
	}
	if r.Status == gateway.StatusDispatched {
		return r.Status, gateway.ErrAlreadyDispatched.WithDetail("the stock of order %s has left the warehouse", orderID)
	}
	// Cancelling is also done for a reservation released earlier: the order of
	// release and shipment never leaves a released order being picked.
	if _, err := cancelPickingShipment(tx, orderID); err != nil {
		return "", err
	}
	if r.Status == gateway.StatusReleased {
		return r.Status, nil
	}
	if err := lockReservedProducts(tx, orderID); err != nil {
		return "", err
	}
	if err := unreserveStock(tx, orderID); err != nil {
		return "", err
	}
	return r.Status, setReservationStatus(tx, orderID, gateway.StatusReleased)
}
