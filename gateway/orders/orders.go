// Package orders is the contract of the orders context: an order by id, and the
// events of an order's life. The orders module implements it.
package orders

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/platform/problem"
)

// Name is the context's name: its module, schema and gateway.
const Name = "orders"

// Orders is what other modules may ask of the orders context.
type Orders interface {
	// Get returns one order, or ErrOrderNotFound. Called on a person's
	// behalf, it answers as GET /v1/orders/{id} does: the order of a customer
	// for that customer alone, any order for staff, ErrOrderNotFound for
	// someone else's, and the forbidden problem for any other role. Called
	// for no person, it answers every order.
	Get(ctx context.Context, id uuid.UUID) (Order, error)
}

// Order is an order as DOMAIN.md describes it.
type Order struct {
	ID        uuid.UUID `json:"id"`
	AccountID uuid.UUID `json:"account_id"`
	// Customer is the subject of the customer who placed the order: whom
	// staff, who read every order, are helping. "" for an order placed
	// before people had tokens.
	Customer     string  `json:"customer"`
	Status       string  `json:"status"`
	RejectReason *string `json:"reject_reason"`
	// RefundError says why the order is refund_failed; nil in any other
	// status.
	RefundError *RefundError `json:"refund_error"`
	Lines       []Line       `json:"lines"`
	Total       int64        `json:"total"`
	Currency    string       `json:"currency"`
	CreatedAt   time.Time    `json:"created_at"`
	UpdatedAt   time.Time    `json:"updated_at"`
}

// Line is one product of an order, priced when its stock was reserved.
type Line struct {
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
	LineTotal int64  `json:"line_total"`
}

// Order statuses.
const (
	StatusPlaced    = "placed" // the saga has not finished yet
	StatusPaid      = "paid"
	StatusRejected  = "rejected"
	StatusCancelled = "cancelled"
	StatusShipped   = "shipped"
	// StatusRefundFailed is a cancellation that accounts refused to refund
	// for good: the stock went back, the money did not, and retrying cannot
	// change that. It is final until an operator settles the refund.
	StatusRefundFailed = "refund_failed"
)

// RefundError is why accounts refused an order's refund: a stable Code to act
// on, and the refusal's Detail for the person who does.
type RefundError struct {
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

// Codes of a refused refund, after the accounts errors they stand for.
const (
	RefundReferenceConflict = "reference_conflict" // the order id was already a credit's reference, of another amount
	RefundBalanceLimit      = "balance_limit"      // the account's balance cannot take the amount
	RefundCurrencyMismatch  = "currency_mismatch"
	RefundUnknownAccount    = "unknown_account"
	RefundRefused           = "refused" // any other refusal of the request itself
)

// Reasons an order is rejected.
const (
	RejectUnknownAccount    = "unknown_account"
	RejectUnknownSKU        = "unknown_sku"
	RejectOutOfStock        = "out_of_stock"
	RejectInsufficientFunds = "insufficient_funds"
	RejectCurrencyMismatch  = "currency_mismatch"
)

// Errors of the orders context.
var (
	ErrOrderNotFound  = problem.New(http.StatusNotFound, "order_not_found", "The order does not exist")
	ErrNotCancellable = problem.New(http.StatusConflict, "not_cancellable", "The order cannot be cancelled in its current state")
	// ErrRefundFailed answers a cancellation of an order whose refund accounts
	// refused: asking again cannot help, an operator must settle it.
	ErrRefundFailed = problem.New(http.StatusConflict, "refund_failed", "The order's refund was refused; an operator must settle it")
)
