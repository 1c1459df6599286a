package orders_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	accountsgw "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/platform/apptest"
)

// The public APIs of accounts and the warehouse, as the tests of orders use
// them, each as the person those modules let do it: a customer opens, funds
// and reads their own accounts; staff create products, receive stock, read
// them and dispatch shipments. The wire shapes are spelled out here rather
// than borrowed from those modules.

// account is an account and the customer who holds it.
type account struct {
	ID    uuid.UUID
	owner person
}

// newAccount opens an account in currency holding balance, for a new
// customer.
func (w world) newAccount(t testing.TB, currency string, balance int64) account {
	t.Helper()
	return w.openAccount(t, w.newCustomer(t), currency, balance)
}

// openAccount opens an account of owner's in currency holding balance.
func (w world) openAccount(t testing.TB, owner person, currency string, balance int64) account {
	t.Helper()
	var a accountsgw.Account
	apptest.Do(t, http.MethodPost, w.accounts("/v1/accounts"), map[string]any{
		"owner_name": "Ada Buyer", "email": "ada@buyers.example", "currency": currency,
	}, owner.header...).Expect(t, http.StatusCreated).Decode(t, &a)
	acc := account{ID: a.ID, owner: owner}
	if balance > 0 {
		w.deposit(t, acc, balance)
	}
	return acc
}

// noAccount is an account id that nobody opened, and a customer who names
// it in their orders.
func (w world) noAccount(t testing.TB) account {
	t.Helper()
	return account{ID: uuid.New(), owner: w.newCustomer(t)}
}

// deposit puts amount on a, as its holder.
func (w world) deposit(t testing.TB, a account, amount int64) {
	t.Helper()
	apptest.Do(t, http.MethodPost, w.accounts("/v1/accounts/"+a.ID.String()+"/deposits"), map[string]any{"amount": amount},
		a.owner.header...).Expect(t, http.StatusCreated)
}

// balance reads the balance of a, as its holder.
func (w world) balance(t testing.TB, a account) int64 {
	t.Helper()
	var got accountsgw.Account
	apptest.Do(t, http.MethodGet, w.accounts("/v1/accounts/"+a.ID.String()), nil, a.owner.header...).
		Expect(t, http.StatusOK).Decode(t, &got)
	return got.Balance
}

// transactions reads the whole ledger of a, every page of it, as its holder.
func (w world) transactions(t testing.TB, a account) []accountsgw.Transaction {
	t.Helper()
	return apptest.Items[accountsgw.Transaction](t, w.accounts("/v1/accounts/"+a.ID.String()+"/transactions"), a.owner.header...)
}

// movements returns the movements of kind on a for order.
func (w world) movements(t testing.TB, a account, kind string, order uuid.UUID) []accountsgw.Transaction {
	t.Helper()
	var out []accountsgw.Transaction
	for _, tx := range w.transactions(t, a) {
		if tx.Kind == kind && tx.Reference == order.String() {
			out = append(out, tx)
		}
	}
	return out
}

// wantCharged fails t unless a was debited exactly once for order, by
// amount, or not at all when amount is 0.
func (w world) wantCharged(t testing.TB, a account, order uuid.UUID, amount int64) {
	t.Helper()
	debits := w.movements(t, a, accountsgw.KindDebit, order)
	switch {
	case amount == 0 && len(debits) != 0:
		t.Fatalf("order %s was debited %+v, want no debit", order, debits)
	case amount > 0 && (len(debits) != 1 || debits[0].Amount != amount):
		t.Fatalf("debits of order %s: %+v, want exactly one of %d", order, debits, amount)
	}
}

type product struct {
	SKU       string `json:"sku"`
	Price     int64  `json:"price"`
	Currency  string `json:"currency"`
	OnHand    int64  `json:"on_hand"`
	Reserved  int64  `json:"reserved"`
	Available int64  `json:"available"`
}

type shipment struct {
	ID      uuid.UUID `json:"id"`
	OrderID uuid.UUID `json:"order_id"`
	Status  string    `json:"status"`
}

// newProduct creates a product of price in currency with stock units on hand,
// as staff, and returns its SKU.
func (w world) newProduct(t testing.TB, price int64, currency string, stock int64) string {
	t.Helper()
	sku := unique("SKU")
	apptest.Do(t, http.MethodPost, w.warehouse("/v1/products"), map[string]any{
		"sku": sku, "name": "Product " + sku, "price": price, "currency": currency,
	}, w.staff...).Expect(t, http.StatusCreated)
	if stock > 0 {
		apptest.Do(t, http.MethodPost, w.warehouse("/v1/products/"+sku+"/stock"), map[string]any{"quantity": stock}, w.staff...).
			Expect(t, http.StatusOK)
	}
	return sku
}

func (w world) product(t testing.TB, sku string) product {
	t.Helper()
	var p product
	apptest.Do(t, http.MethodGet, w.warehouse("/v1/products/"+sku), nil, w.staff...).Expect(t, http.StatusOK).Decode(t, &p)
	return p
}

// wantStock fails t unless sku has on hand and reserved units.
func (w world) wantStock(t testing.TB, sku string, onHand, reserved int64) {
	t.Helper()
	p := w.product(t, sku)
	if p.OnHand != onHand || p.Reserved != reserved || p.Available != onHand-reserved {
		t.Fatalf("product %s: on hand %d, reserved %d, available %d; want %d, %d, %d",
			sku, p.OnHand, p.Reserved, p.Available, onHand, reserved, onHand-reserved)
	}
}

func (w world) shipments(t testing.TB, order uuid.UUID) []shipment {
	t.Helper()
	var list struct {
		Items []shipment `json:"items"`
	}
	apptest.Do(t, http.MethodGet, w.warehouse("/v1/shipments?order_id="+order.String()), nil, w.staff...).
		Expect(t, http.StatusOK).Decode(t, &list)
	return list.Items
}

// shipmentOf waits for the shipment of order to be in status, and returns it.
func (w world) shipmentOf(t testing.TB, order uuid.UUID, status string) shipment {
	t.Helper()
	var sh shipment
	apptest.Eventually(t, 10*time.Second, "a "+status+" shipment of order "+order.String(), func() bool {
		list := w.shipments(t, order)
		if len(list) == 1 && list[0].Status == status {
			sh = list[0]
			return true
		}
		return false
	})
	return sh
}

// dispatch sends shipment id on its way, as staff.
func (w world) dispatch(t testing.TB, id uuid.UUID) apptest.Response {
	t.Helper()
	return apptest.Do(t, http.MethodPost, w.warehouse("/v1/shipments/"+id.String()+"/dispatch"), nil, w.staff...)
}
