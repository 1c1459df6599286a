// Package warehouse is the contract of the warehouse context: reserving stock
// for an order and releasing it. The warehouse module implements it; the orders
// module calls it while running its saga.
package warehouse

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/platform/problem"
)

// Name is the context's name: its module, schema and gateway.
const Name = "warehouse"

// Warehouse is what other modules may ask of the warehouse context.
type Warehouse interface {
	// Reserve sets stock aside for an order, all lines or none. It is
	// idempotent per order: reserving again for the same order returns the
	// existing reservation (ErrReservationConflict when the lines differ,
	// ErrReservationReleased once it was released). It answers the unit price
	// and currency of every line.
	Reserve(ctx context.Context, req ReserveRequest) (Reservation, error)
	// Release gives an order's reserved stock back. It is idempotent, and
	// releasing an order that has no reservation is not an error. Stock that
	// has already left (a dispatched shipment) cannot be released:
	// ErrAlreadyDispatched.
	Release(ctx context.Context, orderID uuid.UUID) error
}

// ReserveRequest asks for stock for an order.
type ReserveRequest struct {
	OrderID uuid.UUID `json:"order_id"`
	Lines   []Line    `json:"lines"`
}

// Line is a quantity of one product.
type Line struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// Reservation is stock set aside for an order.
type Reservation struct {
	OrderID   uuid.UUID      `json:"order_id"`
	Status    string         `json:"status"` // reserved, released or dispatched
	Lines     []ReservedLine `json:"lines"`
	CreatedAt time.Time      `json:"created_at"`
}

// ReservedLine is a reserved line with the price it was reserved at.
type ReservedLine struct {
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
	UnitPrice int64  `json:"unit_price"` // minor units
	Currency  string `json:"currency"`
}

// Reservation statuses.
const (
	StatusReserved   = "reserved"
	StatusReleased   = "released"
	StatusDispatched = "dispatched"
)

// Errors of the warehouse context.
var (
	ErrUnknownSKU          = problem.New(http.StatusUnprocessableEntity, "unknown_sku", "A product does not exist")
	ErrOutOfStock          = problem.New(http.StatusConflict, "out_of_stock", "Not enough stock is available")
	ErrAlreadyDispatched   = problem.New(http.StatusConflict, "already_dispatched", "The order's stock has already been dispatched")
	ErrReservationReleased = problem.New(http.StatusConflict, "reservation_released", "The order's reservation was released")
	ErrReservationConflict = problem.New(http.StatusConflict, "reservation_conflict", "The order already has a reservation with other lines")
)
