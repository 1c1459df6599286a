package warehouse_test

import (
	"testing"

	"github.com/uberservice/uberservice/platform/apptest"
)

// The shipments of an order are a list like any, paged newest first with
// bad paging refused. An order has one shipment at most, so the list is a
// page of one, with no next page, and another order's shipment is not on it.
func TestShipmentsArePaged(t *testing.T) {
	t.Parallel()
	w := start(t)
	sku := w.newProduct(t, 1500, "USD", 10)
	order, other := w.reserve(t, line{SKU: sku, Quantity: 1}), w.reserve(t, line{SKU: sku, Quantity: 2})
	w.paid(t, other)
	w.paid(t, order)
	apptest.ExpectPaged(t, apptest.List{URL: w.url("/v1/shipments?order_id=" + order.String()), Header: w.staff,
		Want: []string{w.shipmentOf(t, order).ID.String()}})
}
