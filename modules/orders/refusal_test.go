package orders_test

import (
	"slices"
	"testing"
	"time"

	ordersgw "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/idempotency"
)

// TestPublicAPIRefusesBadInput runs every public route through the platform's
// bad-input suite: each way of breaking a request is a 4xx problem+json that
// changes nothing.
func TestPublicAPIRefusesBadInput(t *testing.T) {
	w := start(t, app.Config{})
	sku := w.newProduct(t, 1000, "USD", 10)
	account := w.newAccount(t, "USD", 100000)
	w.placed(t, account, line{SKU: sku, Quantity: 1}) // two orders: a list that gives a cursor to break
	o := w.placed(t, account, line{SKU: sku, Quantity: 1})
	w.awaitStatus(t, o.ID, ordersgw.StatusPaid, 5*time.Second)
	owner := account.owner.header
	w.RefusesBadInput(t, ordersgw.Name,
		apptest.Example{Method: "POST", URL: w.orders("/v1/orders"),
			Body:   `{"account_id":"` + account.ID.String() + `","lines":[{"sku":"` + sku + `","quantity":2}]}`,
			Header: append(slices.Clone(owner), idempotency.Header, "order-1")},
		apptest.Example{Method: "GET", URL: w.orders("/v1/orders?account_id=" + account.ID.String()), Header: owner},
		apptest.Example{Method: "GET", URL: w.orders("/v1/orders/" + o.ID.String()), Header: owner},
		apptest.Example{Method: "POST", URL: w.orders("/v1/orders/" + o.ID.String() + "/cancel"), Header: owner},
	)
}
