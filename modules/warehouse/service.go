package warehouse

import (
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"unicode/utf8"

	gateway "github.com/uberservice/uberservice/gateway/warehouse"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/problem"
)

// service is the warehouse context: every rule lives here, between the HTTP
// handlers and the store. It is also the local implementation of the warehouse
// gateway, so the orders module in this process gets the very same behaviour
// as one calling over HTTP.
type service struct {
	db     *database.DB
	outbox *messaging.Outbox
	log    *slog.Logger
}

var _ gateway.Warehouse = (*service)(nil)

// Errors of the warehouse's public API, beside the gateway's.
var (
	ErrProductNotFound   = problem.New(http.StatusNotFound, "product_not_found", "The product does not exist")
	ErrDuplicateSKU      = problem.New(http.StatusConflict, "duplicate_sku", "A product with this sku already exists")
	ErrStockLimit        = problem.New(http.StatusUnprocessableEntity, "stock_limit", "The stock on hand would exceed its limit")
	ErrShipmentNotFound  = problem.New(http.StatusNotFound, "shipment_not_found", "The shipment does not exist")
	ErrShipmentCancelled = problem.New(http.StatusConflict, "shipment_cancelled", "The shipment was cancelled")
)

// Limits of what the warehouse accepts.
const (
	// MaxPrice is the largest unit price, in minor units (1e15: ten trillion
	// dollars in cents). A line of many units can still cost more than an
	// int64 holds; the orders saga guards its own arithmetic.
	MaxPrice int64 = 1_000_000_000_000_000
	// MaxQuantity bounds one receipt of goods and one reserved line.
	MaxQuantity int64 = 1_000_000_000
	// MaxLines bounds the lines of one reservation.
	MaxLines = 100

	maxSKU  = 64
	maxName = 200
)

// skuPattern is the form of a sku. A string of another form names no product,
// so it is answered like a sku no product has, without a query.
var skuPattern = regexp.MustCompile(fmt.Sprintf(`^[A-Za-z0-9._-]{1,%d}$`, maxSKU))

func productNotFound(sku string) error {
	return ErrProductNotFound.WithDetail("no product %s", quoteSKU(sku))
}

// quoteSKU quotes a sku for an error detail, cut short when it is longer than
// any sku can be, since it may be anything a client sent.
func quoteSKU(sku string) string {
	if utf8.RuneCountInString(sku) > maxSKU {
		return fmt.Sprintf("%q...", string([]rune(sku)[:maxSKU]))
	}
	return fmt.Sprintf("%q", sku)
}
