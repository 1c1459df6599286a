package orders_test

import (
	"net/http"
	"testing"

	accountsgw "github.com/uberservice/uberservice/gateway/accounts"
	ordersgw "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
)

// Orders racing for too little stock, or for too little money, never oversell
// and never overdraw: exactly as many are paid as the stock or the balance
// allows, the others are rejected with the right reason and hold nothing.
func TestConcurrentOrders(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	const orders = 30

	t.Run("five units for thirty orders", func(t *testing.T) {
		t.Parallel()
		sku := w.newProduct(t, 100, "USD", 5)
		accounts := make([]account, orders)
		for i := range accounts {
			accounts[i] = w.newAccount(t, "USD", 1_000_000)
		}
		got := apptest.Race(orders, func(i int) ordersgw.Order { return w.placedOrNothing(t, accounts[i], line{sku, 1}) })
		paid, byReason := tally(got)
		if paid != 5 || byReason[ordersgw.RejectOutOfStock] != orders-5 {
			t.Fatalf("%d paid, rejections %v; want 5 paid and %d out of stock", paid, byReason, orders-5)
		}
		w.wantStock(t, sku, 5, 5)
		for i, o := range got {
			if o.Status == ordersgw.StatusPaid {
				w.wantCharged(t, accounts[i], o.ID, 100)
			} else {
				w.wantCharged(t, accounts[i], o.ID, 0)
			}
		}
	})

	t.Run("one account that can pay four orders", func(t *testing.T) {
		t.Parallel()
		sku := w.newProduct(t, 250, "USD", 1000)
		account := w.newAccount(t, "USD", 1000)
		got := apptest.Race(orders, func(int) ordersgw.Order { return w.placedOrNothing(t, account, line{sku, 1}) })
		paid, byReason := tally(got)
		if paid != 4 || byReason[ordersgw.RejectInsufficientFunds] != orders-4 {
			t.Fatalf("%d paid, rejections %v; want 4 paid and %d refused for insufficient funds", paid, byReason, orders-4)
		}
		// Every rejected order gave its unit back; the paid ones hold theirs.
		w.wantStock(t, sku, 1000, 4)
		if b := w.balance(t, account); b != 0 {
			t.Errorf("balance %d, want 0", b)
		}
		var debited, paidTotals int64
		debits := 0
		for _, tx := range w.transactions(t, account) {
			if tx.BalanceAfter < 0 {
				t.Fatalf("transaction %+v left a negative balance", tx)
			}
			if tx.Kind == accountsgw.KindDebit {
				debited += tx.Amount
				debits++
			}
		}
		for _, o := range got {
			if o.Status == ordersgw.StatusPaid {
				paidTotals += o.Total
				w.wantCharged(t, account, o.ID, o.Total)
			}
		}
		if debits != 4 || debited != paidTotals || debited != 1000 {
			t.Errorf("%d debits of %d in all, paid orders total %d; want 4 debits of the paid totals, 1000", debits, debited, paidTotals)
		}
	})
}

// placedOrNothing places an order from a goroutine: a failure is reported and
// answered with the zero Order.
func (w world) placedOrNothing(t *testing.T, a account, lines ...line) ordersgw.Order {
	res := w.place(t, a, lines)
	if res.Status != http.StatusCreated {
		t.Errorf("place: %d %s", res.Status, res.Body)
		return ordersgw.Order{}
	}
	var o ordersgw.Order
	res.Decode(t, &o)
	return o
}

// tally counts the paid orders and the rejected ones by reason; any other
// status counts under its own name.
func tally(list []ordersgw.Order) (paid int, byReason map[string]int) {
	byReason = map[string]int{}
	for _, o := range list {
		switch {
		case o.Status == ordersgw.StatusPaid:
			paid++
		case o.Status == ordersgw.StatusRejected && o.RejectReason != nil:
			byReason[*o.RejectReason]++
		default:
			byReason["status "+o.Status]++
		}
	}
	return paid, byReason
}
