package orders_test

import (
	"net/http"
	"testing"

	accountsgw "github.com/uberservice/uberservice/gateway/accounts"
	ordersgw "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/gateway/orders/contracttest"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
)

// The orders gateway answers alike in process and over HTTP: the same suite
// passes against the module's local implementation and against the HTTP
// client talking to the module's server binding.
func TestGatewayContract(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	placeOrder := func(t *testing.T, a contracttest.Arrangement) ordersgw.Order {
		t.Helper()
		account := w.newAccount(t, a.Currency, a.Balance)
		var lines []line
		for _, l := range a.Lines {
			lines = append(lines, line{SKU: w.newProduct(t, l.UnitPrice, a.Currency, l.Quantity), Quantity: l.Quantity})
		}
		var o ordersgw.Order
		w.place(t, account, lines).Expect(t, http.StatusCreated).Decode(t, &o)
		if !a.RefuseRefund {
			return o
		}
		if _, err := apptest.Local(t, w.System, accountsgw.Gateway).Credit(t.Context(), accountsgw.Movement{
			AccountID: account.ID, Amount: 1, Currency: a.Currency, Reference: o.ID.String(),
		}); err != nil {
			t.Fatalf("the conflicting credit: %v", err)
		}
		w.cancel(t, account.owner, o.ID).ExpectProblem(t, http.StatusConflict, "refund_failed")
		return w.order(t, o.ID)
	}
	apptest.EachImplementation(t, w.System, ordersgw.Gateway, func(t *testing.T, impl ordersgw.Orders) {
		contracttest.Run(t, func(*testing.T) contracttest.Subject {
			return contracttest.Subject{Orders: impl, PlaceOrder: placeOrder}
		})
	})
}
