package warehouse

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"

	orderevents "github.com/uberservice/uberservice/gateway/orders/events"
	gateway "github.com/uberservice/uberservice/gateway/warehouse"
	"github.com/uberservice/uberservice/platform/messaging"
)

// The warehouse's event handlers: what it does when an order is paid or
// cancelled. Each runs in the transaction that records the message in the
// inbox, so a redelivery has no second effect.

// onOrderPaid starts picking a paid order: a shipment of its reserved lines,
// once per order whatever the redeliveries (the unique order id).
//
// An order cancelled before this event arrived has its reservation released
// already; it still gets its shipment, cancelled at once. The outcome is then
// the same whichever of the two events comes first, and the order's shipment
// list tells what happened. An order the warehouse holds no reservation for
// cannot be picked: that is logged, not retried, since retrying cannot fix it.
//
// Paid orders that arrive together are handled in one transaction
// (messaging.HandleBatchedWith): toShipOf locks their reservations, in order
// id order, and the shipments go in with the commit. A request locks one
// reservation at most, and only then the rows behind it (its shipment, the
// products), so a batch never waits for a request that waits for the batch.
func (s *service) onOrderPaid(ctx context.Context, tx *gorm.DB, e orderevents.OrderPaid, orders map[uuid.UUID]toShip) error {
	if e.OrderID == uuid.Nil {
		return messaging.Permanent(errors.New("order_paid without an order_id"))
	}
	log := s.log.With("order_id", e.OrderID)
	o, found := orders[e.OrderID]
	if !found {
		log.WarnContext(ctx, "order paid without a reservation in the warehouse; nothing to ship")
		return nil
	}
	status := StatusPicking
	switch o.status {
	case gateway.StatusReleased:
		status = StatusCancelled
	case gateway.StatusDispatched:
		// Only a shipment dispatches a reservation, so the shipment exists.
		log.InfoContext(ctx, "order paid again after its dispatch; nothing to do")
		return nil
	}
	if o.shipped {
		log.InfoContext(ctx, "order already has a shipment")
		return nil
	}
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("new shipment id: %w", err)
	}
	if err := insertShipment(tx, id, e.OrderID, status); err != nil {
		return err
	}
	o.shipped = true // for the same order again later in the batch
	orders[e.OrderID] = o
	log.InfoContext(ctx, "shipment created", "shipment_id", id, "status", status)
	return nil
}

// toShipOf locks the reservations of a batch of paid orders and says which
// already have a shipment (see onOrderPaid).
func (s *service) toShipOf(_ context.Context, tx *gorm.DB, paid []orderevents.OrderPaid) (map[uuid.UUID]toShip, error) {
	ids := make([]uuid.UUID, len(paid))
	for i, e := range paid {
		ids[i] = e.OrderID
	}
	return lockToShip(tx, ids)
}

// onOrderCancelled releases a cancelled order's stock and cancels its shipment
// if it is still being picked: the very path of Release. Goods that have left
// the warehouse stay dispatched; that is worth a warning, not a retry.
func (s *service) onOrderCancelled(ctx context.Context, tx *gorm.DB, e orderevents.OrderCancelled) error {
	if e.OrderID == uuid.Nil {
		return messaging.Permanent(errors.New("order_cancelled without an order_id"))
	}
	log := s.log.With("order_id", e.OrderID)
	was, err := release(tx, e.OrderID)
	switch {
	case errors.Is(err, gateway.ErrAlreadyDispatched):
		log.WarnContext(ctx, "order cancelled after its shipment was dispatched; the shipment stays dispatched")
		return nil
	case err != nil:
		return err
	case was == "":
		log.InfoContext(ctx, "order cancelled without a reservation in the warehouse; nothing to release")
	case was == gateway.StatusReserved:
		log.InfoContext(ctx, "order cancelled; reservation released")
	}
	return nil
}
