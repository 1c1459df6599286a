package warehouse

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	gateway "github.com/uberservice/uberservice/gateway/warehouse"
	"github.com/uberservice/uberservice/gateway/warehouse/events"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/page"
	"github.com/uberservice/uberservice/platform/problem"
)

// Shipment statuses.
const (
	StatusPicking    = "picking"
	StatusDispatched = "dispatched"
	StatusCancelled  = "cancelled"
)

// Shipment is the picking and dispatch of one paid order's reserved stock.
type Shipment struct {
	ID        uuid.UUID     `json:"id"`
	OrderID   uuid.UUID     `json:"order_id"`
	Status    string        `json:"status"` // picking, dispatched or cancelled
	Lines     []events.Line `json:"lines"`
	CreatedAt time.Time     `json:"created_at"`
	UpdatedAt time.Time     `json:"updated_at"`
}

// Shipments returns a page of the shipments of an order: none, or the one
// made when it was paid. Shipments are staff's; anyone else is
// identity.ErrForbidden.
func (s *service) Shipments(ctx context.Context, orderID uuid.UUID, req page.Request) (page.Page[Shipment], error) {
	if err := identity.Require(ctx, runsStore...); err != nil {
		return page.Page[Shipment]{}, err
	}
	out, err := shipmentsOfOrder(s.db.WithContext(ctx), orderID, req)
	if err != nil {
		return page.Page[Shipment]{}, problem.Wrapf(err, "warehouse: list shipments")
	}
	return out, nil
}

// Shipment returns one shipment, to staff; anyone else is
// identity.ErrForbidden, whether it exists or not.
func (s *service) Shipment(ctx context.Context, id uuid.UUID) (Shipment, error) {
	if err := identity.Require(ctx, runsStore...); err != nil {
		return Shipment{}, err
	}
	sh, found, err := findShipment(s.db.WithContext(ctx), id, false)
	if err != nil {
		return Shipment{}, problem.Wrapf(err, "warehouse: get shipment")
	}
	if !found {
		return Shipment{}, shipmentNotFound(id)
	}
	return sh, nil
}

// Dispatch sends a picked shipment out: its units leave the stock on hand and
// the reserved count, the reservation and the shipment become dispatched, and
// shipment_dispatched is published, all in one transaction. Dispatching it
// again answers it unchanged and publishes nothing; a cancelled shipment
// cannot be dispatched. Staff dispatch; anyone else is identity.ErrForbidden,
// whether the shipment exists or not.
func (s *service) Dispatch(ctx context.Context, id uuid.UUID) (Shipment, error) {
	if err := identity.Require(ctx, runsStore...); err != nil {
		return Shipment{}, err
	}
	var (
		out  Shipment
		sent bool
	)
	err := s.db.Transact(ctx, func(tx *gorm.DB) error {
		orderID, found, err := orderOfShipment(tx, id)
		if err != nil {
			return err
		}
		if !found {
			return shipmentNotFound(id)
		}
		r, found, err := lockReservation(tx, orderID)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("shipment %s has no reservation for order %s", id, orderID)
		}
		if out, _, err = findShipment(tx, id, true); err != nil {
			return err
		}
		switch {
		case out.Status == StatusDispatched:
			return nil
		case out.Status == StatusCancelled:
			return ErrShipmentCancelled.WithDetail("shipment %s of order %s was cancelled", id, orderID)
		case r.Status != gateway.StatusReserved:
			// Releasing cancels a picking shipment in the same transaction, so
			// this is a bug, not a state a client can cause.
			return fmt.Errorf("shipment %s is %s but the reservation of order %s is %s", id, out.Status, orderID, r.Status)
		}
		if err := lockReservedProducts(tx, orderID); err != nil {
			return err
		}
		if err := shipStock(tx, orderID); err != nil {
			return err
		}
		if err := setReservationStatus(tx, orderID, gateway.StatusDispatched); err != nil {
			return err
		}
		if out.UpdatedAt, err = setShipmentStatus(tx, id, StatusDispatched); err != nil {
			return err
		}
		out.Status, sent = StatusDispatched, true
		return s.outbox.Publish(ctx, tx, events.ShipmentDispatched{
			ShipmentID:   out.ID,
			OrderID:      out.OrderID,
			Lines:        out.Lines,
			DispatchedAt: out.UpdatedAt,
		})
	})
	if err != nil {
		return Shipment{}, problem.Wrapf(err, "warehouse: dispatch")
	}
	if sent {
		s.log.InfoContext(ctx, "shipment dispatched", "shipment_id", id, "order_id", out.OrderID)
	}
	return out, nil
}

func shipmentNotFound(id uuid.UUID) error {
	return ErrShipmentNotFound.WithDetail("no shipment %s", id)
}
