// Package events holds the events the warehouse context publishes.
package events

import (
	"time"

	"github.com/google/uuid"
)

// Topics, versioned.
const (
	TopicShipmentDispatched = "warehouse.shipment_dispatched.v1"
)

// All lists every topic the context publishes.
var All = []string{TopicShipmentDispatched}

// Payloads lists one value of each event the context publishes, in the order
// of All: the module declares them (app.Module.Payloads) so that its events'
// fields are documented.
var Payloads = []interface{ Topic() string }{ShipmentDispatched{}}

// ShipmentDispatched is published when an order's goods leave the warehouse.
type ShipmentDispatched struct {
	ShipmentID   uuid.UUID `json:"shipment_id"`
	OrderID      uuid.UUID `json:"order_id"`
	Lines        []Line    `json:"lines"`
	DispatchedAt time.Time `json:"dispatched_at"`
}

// Line is a quantity of one product.
type Line struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// Topic implements messaging.Event.
func (ShipmentDispatched) Topic() string { return TopicShipmentDispatched }
