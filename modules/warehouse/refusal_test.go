package warehouse_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	gateway "github.com/uberservice/uberservice/gateway/warehouse"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/idempotency"
)

// TestPublicAPIRefusesBadInput runs every public route through the platform's
// bad-input suite: each way of breaking a request is a 4xx problem+json that
// changes nothing.
func TestPublicAPIRefusesBadInput(t *testing.T) {
	w := start(t)
	sku := w.newProduct(t, 1500, "USD", 10)
	order := w.reserve(t, line{SKU: sku, Quantity: 1})
	w.paid(t, order)
	var shipment uuid.UUID
	apptest.Eventually(t, 5*time.Second, "a shipment for the paid order", func() bool {
		list := w.shipments(t, order)
		if len(list) == 1 {
			shipment = list[0].ID
		}
		return len(list) == 1
	})
	// Each example is sent as a person its route admits, so that what is
	// refused is the input, not the person.
	w.RefusesBadInput(t, gateway.Name,
		apptest.Example{Method: "POST", URL: w.url("/v1/products"), Header: w.staff,
			Body: `{"sku":"` + newSKU("NEW") + `","name":"The Go Programming Language","price":3999,"currency":"EUR"}`},
		apptest.Example{Method: "GET", URL: w.url("/v1/products/" + sku), Header: w.customer},
		apptest.Example{Method: "POST", URL: w.url("/v1/products/" + sku + "/stock"), Body: `{"quantity":5}`,
			Header: w.asStaff(idempotency.Header, "receipt-1")},
		apptest.Example{Method: "GET", URL: w.url("/v1/shipments?order_id=" + order.String()), Header: w.staff},
		apptest.Example{Method: "GET", URL: w.url("/v1/shipments/" + shipment.String()), Header: w.staff},
		apptest.Example{Method: "POST", URL: w.url("/v1/shipments/" + shipment.String() + "/dispatch"), Header: w.staff},
	)
}
