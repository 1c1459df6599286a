// Package events holds the events the orders context publishes.
package events

import (
	"time"

	"github.com/google/uuid"
)

// Topics, versioned.
const (
	TopicOrderPaid      = "orders.order_paid.v1"
	TopicOrderRejected  = "orders.order_rejected.v1"
	TopicOrderCancelled = "orders.order_cancelled.v1"
	TopicOrderShipped   = "orders.order_shipped.v1"
)

// All lists every topic the context publishes.
var All = []string{TopicOrderPaid, TopicOrderRejected, TopicOrderCancelled, TopicOrderShipped}

// Payloads lists one value of each event the context publishes, in the order
// of All: the module declares them (app.Module.Payloads) so that its events'
// fields are documented.
var Payloads = []interface{ Topic() string }{OrderPaid{}, OrderRejected{}, OrderCancelled{}, OrderShipped{}}

// Line is one product of an order.
type Line struct {
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
}

// OrderPaid is published once an order's stock is reserved and its account
// debited: the warehouse starts picking it.
type OrderPaid struct {
	OrderID   uuid.UUID `json:"order_id"`
	AccountID uuid.UUID `json:"account_id"`
	Lines     []Line    `json:"lines"`
	Total     int64     `json:"total"`
	Currency  string    `json:"currency"`
	PaidAt    time.Time `json:"paid_at"`
}

// Topic implements messaging.Event.
func (OrderPaid) Topic() string { return TopicOrderPaid }

// OrderRejected is published when the saga ends without payment.
type OrderRejected struct {
	OrderID    uuid.UUID `json:"order_id"`
	AccountID  uuid.UUID `json:"account_id"`
	Reason     string    `json:"reason"`
	RejectedAt time.Time `json:"rejected_at"`
}

// Topic implements messaging.Event.
func (OrderRejected) Topic() string { return TopicOrderRejected }

// OrderCancelled is published when a paid order is cancelled and refunded.
type OrderCancelled struct {
	OrderID     uuid.UUID `json:"order_id"`
	AccountID   uuid.UUID `json:"account_id"`
	Refunded    int64     `json:"refunded"`
	Currency    string    `json:"currency"`
	CancelledAt time.Time `json:"cancelled_at"`
}

// Topic implements messaging.Event.
func (OrderCancelled) Topic() string { return TopicOrderCancelled }

// OrderShipped is published when the warehouse has dispatched the order.
type OrderShipped struct {
	OrderID    uuid.UUID `json:"order_id"`
	ShipmentID uuid.UUID `json:"shipment_id"`
	ShippedAt  time.Time `json:"shipped_at"`
}

// Topic implements messaging.Event.
func (OrderShipped) Topic() string { return TopicOrderShipped }
