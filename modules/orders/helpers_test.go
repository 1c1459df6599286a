package orders_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/internal/porthold"

	accountsgw "github.com/uberservice/uberservice/gateway/accounts"
	ordersgw "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/modules/accounts"
	"github.com/uberservice/uberservice/modules/orders"
	"github.com/uberservice/uberservice/modules/warehouse"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
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
	staff       []string // the Authorization header of a member of staff
}

func start(t *testing.T, cfg app.Config) world {
	t.Helper()
	sys := apptest.Start(t, all(), cfg)
	return world{System: sys, accountsURL: sys.URL(accountsgw.Name), staff: sys.Person(t, "staff", identity.Staff)}
}

// apart is the shop with accounts in a process of its own, on one database:
// the shop reaches accounts' gateway over HTTP, as a split deployment does.
type apart struct {
	world
	accounts *apptest.System // the running accounts, or the last one stopped
	db       string
	addr     string // accounts' public and internal addresses, kept across restarts
	internal string
	held     []*porthold.Port // those addresses, while accounts is down
}

// startApart starts accounts, then warehouse and orders with accounts as
// their peer; shop is the configuration of the shop's process (its Log, say).
func startApart(t *testing.T, shop app.Config) *apart {
	t.Helper()
	db := apptest.FreshDatabase(t)
	accounts := apptest.Start(t, all(), app.Config{Modules: []string{accountsgw.Name}, DatabaseURL: db})
	a := &apart{accounts: accounts, db: db, addr: accounts.Addr(accountsgw.Name), internal: accounts.InternalAddr(accountsgw.Name)}
	shop.Modules, shop.DatabaseURL = []string{"warehouse", ordersgw.Name}, db
	shop.Peers = map[string]string{accountsgw.Name: "http://" + a.internal}
	sys := apptest.Start(t, all(), shop)
	a.world = world{System: sys, accountsURL: "http://" + a.addr, staff: sys.Person(t, "staff", identity.Staff)}
	return a
}

// stopAccounts stops accounts, an outage: its addresses refuse connections
// until restartAccounts, and no server of a parallel test is given them.
func (a *apart) stopAccounts(t *testing.T) {
	t.Helper()
	if err := a.accounts.Stop(context.Background()); err != nil {
		t.Fatalf("stop accounts: %v", err)
	}
	for _, addr := range []string{a.addr, a.internal} {
		p, err := porthold.Closed(addr)
		if err != nil {
			t.Fatalf("hold the address of accounts, stopped: %v", err)
		}
		t.Cleanup(func() { _ = p.Release() })
		a.held = append(a.held, p)
	}
}

// restartAccounts starts accounts again where it was, once stopped.
func (a *apart) restartAccounts(t *testing.T) {
	t.Helper()
	for _, p := range a.held {
		if err := p.Release(); err != nil {
			t.Fatal(err)
		}
	}
	a.held = nil
	a.accounts = apptest.Start(t, all(), app.Config{Modules: []string{accountsgw.Name}, DatabaseURL: a.db,
		Listen:         map[string]string{accountsgw.Name: a.addr},
		InternalListen: map[string]string{accountsgw.Name: a.internal}})
}

func (w world) orders(path string) string    { return w.URL(ordersgw.Name) + path }
func (w world) accounts(path string) string  { return w.accountsURL + path }
func (w world) warehouse(path string) string { return w.URL("warehouse") + path }

// person is someone the tests act as: their subject, and the Authorization
// header of a token of theirs.
type person struct {
	subject string
	header  []string
}

// newCustomer is a customer of a subject no other test uses, with no
// account yet.
func (w world) newCustomer(t testing.TB) person {
	t.Helper()
	subject := unique("customer")
	return person{subject: subject, header: w.Person(t, subject, identity.Customer)}
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

// place posts an order of lines on a, as the customer who holds it.
func (w world) place(t testing.TB, a account, lines []line, headers ...string) apptest.Response {
	t.Helper()
	return w.placeAs(t, a.owner, a.ID, lines, headers...)
}

// placeAs posts an order of lines on account as who, whoever holds it.
func (w world) placeAs(t testing.TB, who person, account uuid.UUID, lines []line, headers ...string) apptest.Response {
	t.Helper()
	return apptest.Do(t, http.MethodPost, w.orders("/v1/orders"), map[string]any{"account_id": account, "lines": lines},
		append(slices.Clone(who.header), headers...)...)
}

// placed places an order on a, as its holder, and returns it, answered 201.
func (w world) placed(t testing.TB, a account, lines ...line) ordersgw.Order {
	t.Helper()
	var o ordersgw.Order
	w.place(t, a, lines).Expect(t, http.StatusCreated).Decode(t, &o)
	return o
}

// order reads an order as staff, who read any, as support does.
func (w world) order(t testing.TB, id uuid.UUID) ordersgw.Order {
	t.Helper()
	var o ordersgw.Order
	apptest.Do(t, http.MethodGet, w.orders("/v1/orders/"+id.String()), nil, w.staff...).Expect(t, http.StatusOK).Decode(t, &o)
	return o
}

// ordersOf reads the first page of the orders of account, as who sees them.
func (w world) ordersOf(t testing.TB, account uuid.UUID, who []string) []ordersgw.Order {
	t.Helper()
	var list struct {
		Items []ordersgw.Order `json:"items"`
	}
	apptest.Do(t, http.MethodGet, w.orders("/v1/orders?account_id="+account.String()), nil, who...).
		Expect(t, http.StatusOK).Decode(t, &list)
	return list.Items
}

// cancel asks, as who, for order id to be cancelled.
func (w world) cancel(t testing.TB, who person, id uuid.UUID) apptest.Response {
	t.Helper()
	return apptest.Do(t, http.MethodPost, w.orders("/v1/orders/"+id.String()+"/cancel"), nil, who.header...)
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
