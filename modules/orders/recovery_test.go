package orders_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	accountsgw "github.com/uberservice/uberservice/gateway/accounts"
	ordersgw "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/failpoint"
)

// recoveryTimeout bounds the wait for a new process to resume the sagas of a
// dead one: their leases (10s) must expire first, then the recovery, which
// looks every 2s, drives them.
const recoveryTimeout = 30 * time.Second

// A process that dies anywhere in a saga leaves an order that the next
// process finishes: paid, rejected with its reason or cancelled as it would
// have been, the account debited (and refunded) exactly once, no stock left
// reserved for a rejected or cancelled order and stock reserved once for a
// paid one. Two new instances start at once and recover together, which is
// safe because each claims a saga before driving it.
//
// Not parallel: failpoints are armed for the whole test process.
func TestCrashRecovery(t *testing.T) {
	const (
		price    = 500
		quantity = 2
		total    = price * quantity
		rich     = 10_000
		poor     = 100
	)
	type crash struct {
		name      string
		failpoint string
		balance   int64
		cancel    bool   // the crash happens while cancelling a paid order
		want      string // the status the order ends in
		// arranged
		account account
		sku     string
		order   ordersgw.Order
	}
	crashes := []*crash{
		{name: "after Reserve answered", failpoint: "orders.saga.after_reserve", balance: rich, want: ordersgw.StatusPaid},
		{name: "after the reservation was saved", failpoint: "orders.saga.after_reserve_saved", balance: rich, want: ordersgw.StatusPaid},
		{name: "after Debit answered", failpoint: "orders.saga.after_debit", balance: rich, want: ordersgw.StatusPaid},
		{name: "after Debit refused", failpoint: "orders.saga.after_debit", balance: poor, want: ordersgw.StatusRejected},
		{name: "compensating, before the release", failpoint: "orders.saga.before_release", balance: poor, want: ordersgw.StatusRejected},
		{name: "compensating, after the release", failpoint: "orders.saga.after_release", balance: poor, want: ordersgw.StatusRejected},
		{name: "cancelling, after the release", failpoint: "orders.saga.after_cancel_release", balance: rich, cancel: true, want: ordersgw.StatusCancelled},
		{name: "cancelling, after the refund", failpoint: "orders.saga.after_refund", balance: rich, cancel: true, want: ordersgw.StatusCancelled},
	}

	w := start(t, app.Config{})
	for _, c := range crashes {
		c.sku = w.newProduct(t, price, "USD", 10)
		c.account = w.newAccount(t, "USD", c.balance)
		if c.cancel {
			c.order = w.placed(t, c.account, line{c.sku, quantity})
			w.shipmentOf(t, c.order.ID, "picking")
			disable := failpoint.Enable(c.failpoint, "abandon")
			res := w.cancel(t, c.account.owner, c.order.ID)
			disable()
			// The cancellation is recorded but did not finish: 202, still paid.
			res.Expect(t, http.StatusAccepted).Decode(t, &c.order)
			if c.order.Status != ordersgw.StatusPaid {
				t.Fatalf("%s: order = %+v, want it still paid", c.name, c.order)
			}
			continue
		}
		disable := failpoint.Enable(c.failpoint, "abandon")
		res := w.place(t, c.account, []line{{c.sku, quantity}})
		disable()
		// The order exists, its saga unfinished: 201, placed.
		res.Expect(t, http.StatusCreated).Decode(t, &c.order)
		if c.order.Status != ordersgw.StatusPlaced {
			t.Fatalf("%s: order = %+v, want it placed", c.name, c.order)
		}
	}

	// The process goes away with every saga where its failpoint left it.
	if err := w.Stop(context.Background()); err != nil {
		t.Fatalf("stop: %v", err)
	}
	w2 := start(t, app.Config{DatabaseURL: w.DB})
	start(t, app.Config{DatabaseURL: w.DB}) // a second instance, recovering too

	for _, c := range crashes {
		t.Run(c.name, func(t *testing.T) {
			o := w2.awaitStatus(t, c.order.ID, c.want, recoveryTimeout)
			switch c.want {
			case ordersgw.StatusPaid:
				if o.Total != total || o.Currency != "USD" {
					t.Errorf("order = %+v, want paid %d USD", o, total)
				}
				w2.wantCharged(t, c.account, o.ID, total)
				w2.wantStock(t, c.sku, 10, quantity)
				if b := w2.balance(t, c.account); b != c.balance-total {
					t.Errorf("balance %d, want %d", b, c.balance-total)
				}
				w2.shipmentOf(t, o.ID, "picking") // order_paid was published
			case ordersgw.StatusRejected:
				wantRejected(t, o, ordersgw.RejectInsufficientFunds)
				w2.wantCharged(t, c.account, o.ID, 0)
				w2.wantStock(t, c.sku, 10, 0)
				if b := w2.balance(t, c.account); b != c.balance {
					t.Errorf("balance %d, want %d untouched", b, c.balance)
				}
			case ordersgw.StatusCancelled:
				w2.wantCharged(t, c.account, o.ID, total)
				if credits := w2.movements(t, c.account, accountsgw.KindCredit, o.ID); len(credits) != 1 || credits[0].Amount != total {
					t.Errorf("refunds %+v, want exactly one of %d", credits, total)
				}
				if b := w2.balance(t, c.account); b != c.balance {
					t.Errorf("balance %d, want %d after the refund", b, c.balance)
				}
				w2.wantStock(t, c.sku, 10, 0)
				w2.shipmentOf(t, o.ID, "cancelled") // order_cancelled was published
			}
		})
	}

	var unfinished int
	if err := w2.Schema(t, ordersgw.Name).Raw(`SELECT count(*) FROM orders
		WHERE saga_step <> 'done' OR lease_until IS NOT NULL OR lease_token IS NOT NULL`).Row().Scan(&unfinished); err != nil {
		t.Fatal(err)
	}
	if unfinished != 0 {
		t.Errorf("%d orders still have a saga running or a lease held", unfinished)
	}
}

// When accounts is down, placing an order is no failure: the order is
// answered placed (201), and the recovery pays it once accounts is back. A
// cancellation that cannot refund is accepted (202) and finished the same
// way.
func TestAccountsOutage(t *testing.T) {
	t.Parallel()
	a := startApart(t, app.Config{})
	w := a.world

	sku := w.newProduct(t, 700, "USD", 10)
	account := w.newAccount(t, "USD", 5000)
	a.stopAccounts(t)

	o := w.placed(t, account, line{sku, 2})
	if o.Status != ordersgw.StatusPlaced {
		t.Fatalf("order while accounts is down = %+v, want placed", o)
	}
	a.restartAccounts(t)
	paid := w.awaitStatus(t, o.ID, ordersgw.StatusPaid, recoveryTimeout)
	if paid.Total != 1400 {
		t.Errorf("paid order = %+v, want a total of 1400", paid)
	}
	w.wantCharged(t, account, o.ID, 1400)
	w.wantStock(t, sku, 10, 2)
	w.shipmentOf(t, o.ID, "picking")

	a.stopAccounts(t)
	var accepted ordersgw.Order
	w.cancel(t, account.owner, o.ID).Expect(t, http.StatusAccepted).Decode(t, &accepted)
	if accepted.Status != ordersgw.StatusPaid {
		t.Fatalf("order whose refund waits for accounts = %+v, want it still paid", accepted)
	}
	w.wantStock(t, sku, 10, 0) // the stock went back already
	a.restartAccounts(t)
	w.awaitStatus(t, o.ID, ordersgw.StatusCancelled, recoveryTimeout)
	if credits := w.movements(t, account, accountsgw.KindCredit, o.ID); len(credits) != 1 || credits[0].Amount != 1400 {
		t.Errorf("refunds %+v, want exactly one of 1400", credits)
	}
	if b := w.balance(t, account); b != 5000 {
		t.Errorf("balance %d, want 5000 after the refund", b)
	}
	w.shipmentOf(t, o.ID, "cancelled")
}
