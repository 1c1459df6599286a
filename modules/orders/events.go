package orders

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"

	gateway "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/gateway/orders/events"
	whevents "github.com/uberservice/uberservice/gateway/warehouse/events"
	"github.com/uberservice/uberservice/platform/messaging"
)

// The orders module's event handlers. Each runs in the transaction that
// records the message in the inbox, so a redelivery has no second effect.

// onShipmentDispatched makes a paid order shipped, once: the update and its
// event commit with the handler's inbox record. A redelivery, or an order in
// any other state, changes nothing; an order this context does not know is
// logged and the event is done, since retrying cannot make it known.
func (s *service) onShipmentDispatched(ctx context.Context, tx *gorm.DB, e whevents.ShipmentDispatched) error {
	if e.OrderID == uuid.Nil || e.ShipmentID == uuid.Nil {
		return messaging.Permanent(fmt.Errorf("shipment_dispatched is incomplete: order %s, shipment %s", e.OrderID, e.ShipmentID))
	}
	log := s.log.With("order_id", e.OrderID, "shipment_id", e.ShipmentID)
	shippedAt, shipped, err := markShipped(tx, e.OrderID)
	if err != nil {
		return err
	}
	if shipped {
		if err := s.outbox.Publish(ctx, tx, events.OrderShipped{OrderID: e.OrderID, ShipmentID: e.ShipmentID, ShippedAt: shippedAt}); err != nil {
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
