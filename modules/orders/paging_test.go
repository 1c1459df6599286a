package orders_test

import (
	"testing"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
)

// An account's orders are a list like any: paged newest first, two at a
// time here, with every order there when paging began shown once, none
// skipped or repeated while orders are placed between pages, nothing of
// another account's, and bad paging refused.
func TestOrdersArePaged(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	sku := w.newProduct(t, 100, "USD", 50)
	account, other := w.newAccount(t, "USD", 10000), w.newAccount(t, "USD", 10000)
	place := func(t testing.TB) string {
		t.Helper()
		return w.placed(t, account, line{SKU: sku, Quantity: 1}).ID.String()
	}
	var want []string
	for range 7 {
		w.placed(t, other, line{SKU: sku, Quantity: 1})
		want = append([]string{place(t)}, want...)
	}
	apptest.ExpectPaged(t, apptest.List{URL: w.orders("/v1/orders?account_id=" + account.ID.String()), Header: account.owner.header,
		Want: want, Add: place})
}
