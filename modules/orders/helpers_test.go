package orders_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	accountsgw "github.com/uberservice/uberservice/gateway/accounts"
	ordersgw "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/modules/accounts"
	"github.com/uberservice/uberservice/modules/orders"
	"github.com/uberservice/uberservice/modules/warehouse"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
)

// all are the modules the orders module needs beside it: accounts and
// warehouse, which the saga calls and whose events it hears.
func all() []app.Module {
	return []app.Module{accounts.Module(), warehouse.Module(), orders.Module()}
}

// world is accounts, warehouse and orders running for real, against a
// database of their own: all three in one process, or accounts elsewhere at
// accountsURL.
type world struct {
	*apptest.System
	accountsURL string
}

func start(t *testing.T, cfg app.Config) world {
	t.Helper()
	sys := apptest.Start(t, all(), cfg)
	return world{System: sys, accountsURL: sys.URL(accountsgw.Name)}
}

// apart is the shop with accounts in a process of its own, on one database:
// the shop reaches accounts' gateway over HTTP, as a split deployment does.
type apart struct {
	world
	accounts *apptest.System
	db       string
	addr     string // accounts' public and internal addresses, kept across restarts
	internal string
}

// startApart starts accounts, then warehouse and orders with accounts as
// their peer; shop is the configuration of the shop's process (its Log, say).
func startApart(t *testing.T, shop app.Config) apart {
	t.Helper()
	db := apptest.FreshDatabase(t)
	accounts := apptest.Start(t, all(), app.Config{Modules: []string{accountsgw.Name}, DatabaseURL: db})
	a := apart{accounts: accounts, db: db, addr: accounts.Addr(accountsgw.Name), internal: accounts.InternalAddr(accountsgw.Name)}
	shop.Modules, shop.DatabaseURL = []string{"warehouse", ordersgw.Name}, db
	shop.Peers = map[string]string{accountsgw.Name: "http://" + a.internal}
	a.world = world{System: apptest.Start(t, all(), shop), accountsURL: "http://" + a.addr}
	return a
}

// restartAccounts starts accounts again where it was, once it was stopped.
func (a apart) restartAccounts(t *testing.T) *apptest.System {
	t.Helper()
	return apptest.Start(t, all(), app.Config{Modules: []string{accountsgw.Name}, DatabaseURL: a.db,
		Listen:         map[string]string{accountsgw.Name: a.addr},
		InternalListen: map[string]string{accountsgw.Name: a.internal}})
}

func (w world) orders(path string) string    { return w.URL(ordersgw.Name) + path }
func (w world) accounts(path string) string  { return w.accountsURL + path }
func (w world) warehouse(path string) string { return w.URL("warehouse") + path }

// The wire shapes of the other modules' public APIs, spelled out here rather
// than borrowed from them.

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

// line is one line of an order request.
type line struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// unique returns a name no other test uses.
func unique(prefix string) string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// newProduct creates a product of price in currency with stock units on hand,
// and returns its SKU.
func (w world) newProduct(t testing.TB, price int64, currency string, stock int64) string {
	t.Helper()
	sku := unique("SKU")
	apptest.Do(t, http.MethodPost, w.warehouse("/v1/products"), map[string]any{
		"sku": sku, "name": "Product " + sku, "price": price, "currency": currency,
	}).Expect(t, http.StatusCreated)
	if stock > 0 {
		apptest.Do(t, http.MethodPost, w.warehouse("/v1/products/"+sku+"/stock"), map[string]any{"quantity": stock}).
			Expect(t, http.StatusOK)
	}
	return sku
}

func (w world) product(t testing.TB, sku string) product {
	t.Helper()
	var p product
	apptest.Do(t, http.MethodGet, w.warehouse("/v1/products/"+sku), nil).Expect(t, http.StatusOK).Decode(t, &p)
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

// newAccount opens an account in currency holding balance.
func (w world) newAccount(t testing.TB, currency string, balance int64) uuid.UUID {
	t.Helper()
	var a accountsgw.Account
	apptest.Do(t, http.MethodPost, w.accounts("/v1/accounts"), map[string]any{
		"owner_name": "Ada Buyer", "email": "ada@buyers.example", "currency": currency,
	}).Expect(t, http.StatusCreated).Decode(t, &a)
	if balance > 0 {
		apptest.Do(t, http.MethodPost, w.accounts("/v1/accounts/"+a.ID.String()+"/deposits"), map[string]any{"amount": balance}).
			Expect(t, http.StatusCreated)
	}
	return a.ID
}

func (w world) balance(t testing.TB, account uuid.UUID) int64 {
	t.Helper()
	var a accountsgw.Account
	apptest.Do(t, http.MethodGet, w.accounts("/v1/accounts/"+account.String()), nil).Expect(t, http.StatusOK).Decode(t, &a)
	return a.Balance
}

// transactions reads the whole ledger of account, every page of it.
func (w world) transactions(t testing.TB, account uuid.UUID) []accountsgw.Transaction {
	t.Helper()
	return apptest.Items[accountsgw.Transaction](t, w.accounts("/v1/accounts/"+account.String()+"/transactions"))
}

// movements returns the movements of kind on account for order.
func (w world) movements(t testing.TB, account uuid.UUID, kind string, order uuid.UUID) []accountsgw.Transaction {
	t.Helper()
	var out []accountsgw.Transaction
	for _, tx := range w.transactions(t, account) {
		if tx.Kind == kind && tx.Reference == order.String() {
			out = append(out, tx)
		}
	}
	return out
}

// wantCharged fails t unless account was debited exactly once for order, by
// amount, or not at all when amount is 0.
func (w world) wantCharged(t testing.TB, account, order uuid.UUID, amount int64) {
	t.Helper()
	debits := w.movements(t, account, accountsgw.KindDebit, order)
	switch {
	case amount == 0 && len(debits) != 0:
		t.Fatalf("order %s was debited %+v, want no debit", order, debits)
	case amount > 0 && (len(debits) != 1 || debits[0].Amount != amount):
		t.Fatalf("debits of order %s: %+v, want exactly one of %d", order, debits, amount)
	}
}

// place posts an order of lines for account.
func (w world) place(t testing.TB, account uuid.UUID, lines []line, headers ...string) apptest.Response {
	t.Helper()
	return apptest.Do(t, http.MethodPost, w.orders("/v1/orders"), map[string]any{"account_id": account, "lines": lines}, headers...)
}

// placed places an order and returns it, answered 201.
func (w world) placed(t testing.TB, account uuid.UUID, lines ...line) ordersgw.Order {
	t.Helper()
	var o ordersgw.Order
	w.place(t, account, lines).Expect(t, http.StatusCreated).Decode(t, &o)
	return o
}

func (w world) order(t testing.TB, id uuid.UUID) ordersgw.Order {
	t.Helper()
	var o ordersgw.Order
	apptest.Do(t, http.MethodGet, w.orders("/v1/orders/"+id.String()), nil).Expect(t, http.StatusOK).Decode(t, &o)
	return o
}

func (w world) cancel(t testing.TB, id uuid.UUID) apptest.Response {
	t.Helper()
	return apptest.Do(t, http.MethodPost, w.orders("/v1/orders/"+id.String()+"/cancel"), nil)
}

func (w world) shipments(t testing.TB, order uuid.UUID) []shipment {
	t.Helper()
	var list struct {
		Items []shipment `json:"items"`
	}
	apptest.Do(t, http.MethodGet, w.warehouse("/v1/shipments?order_id="+order.String()), nil).
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

// awaitStatus waits for order to reach status, and returns it.
func (w world) awaitStatus(t testing.TB, id uuid.UUID, status string, timeout time.Duration) ordersgw.Order {
	t.Helper()
	var o ordersgw.Order
	apptest.Eventually(t, timeout, "order "+id.String()+" "+status, func() bool {
		o = w.order(t, id)
		return o.Status == status
	})
	return o
}

// wantRejected fails t unless o is rejected for reason.
func wantRejected(t testing.TB, o ordersgw.Order, reason string) {
	t.Helper()
	if o.Status != ordersgw.StatusRejected || o.RejectReason == nil || *o.RejectReason != reason {
		got := "<nil>"
		if o.RejectReason != nil {
			got = *o.RejectReason
		}
		t.Fatalf("order %s is %s (reason %s), want rejected for %s", o.ID, o.Status, got, reason)
	}
}

// observer records the events published on the bus, as one more consumer.
type observer struct {
	mu  sync.Mutex
	got map[string][][]byte // by topic: payloads
}

// observe subscribes to topics for the rest of t. The in-process bus waits
// for every subscriber, so the observer acknowledges everything at once.
func observe(t testing.TB, w world, topics ...string) *observer {
	t.Helper()
	o := &observer{got: map[string][][]byte{}}
	for topic, msgs := range w.Subscribe(t, topics...) {
		go func() {
			for msg := range msgs {
				o.mu.Lock()
				o.got[topic] = append(o.got[topic], slices.Clone(msg.Payload))
				o.mu.Unlock()
				msg.Ack()
			}
		}()
	}
	return o
}

// count returns how many events of topic match.
func count[E any](o *observer, topic string, match func(E) bool) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, payload := range o.got[topic] {
		var e E
		if json.Unmarshal(payload, &e) == nil && match(e) {
			n++
		}
	}
	return n
}

// awaitEvent waits for exactly one event of topic matching.
func awaitEvent[E any](t testing.TB, o *observer, topic string, match func(E) bool) {
	t.Helper()
	apptest.Eventually(t, 10*time.Second, "one "+topic, func() bool { return count(o, topic, match) >= 1 })
	time.Sleep(50 * time.Millisecond) // room for a duplicate to show
	if n := count(o, topic, match); n != 1 {
		t.Fatalf("%d matching %s events, want 1", n, topic)
	}
}
