package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/uberservice/uberservice/internal/cluster"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// settle bounds how long the effects of a fault may take to add up once the
// fault is over. The slowest path is a NATS message that a killed process
// held unacknowledged: the broker delivers it again after its ack wait
// (30s). An order whose saga a killed process drove is resumed once that
// process's lease (10s) has run out.
const settle = 60 * time.Second

// imDownSuite: with im stopped (SIGTERM), accounts keeps taking deposits and
// the portal answers degraded ["im"]. Started again, im catches up: the
// commissions and manager emails of the deposits made while it was down
// appear, once each, and the portal shows the manager again once its
// circuit breaker lets a call through.
func imDownSuite(t *testing.T, c *cluster.Cluster) {
	acc, im, portal := c.URL("accounts"), c.URL("im"), c.URL("portal")
	staff := person(t, c, "sol-staff", identity.Staff)
	dan := person(t, c, "dan", identity.Customer)
	code := "DOWN-" + randomHex(4)
	mgr, dora := newManager(t, c, staff, "dora", map[string]any{
		"name": "Dora Down", "email": "dora." + randomHex(3) + "@im.example.com", "referral_code": code, "commission_bps": 150,
	})
	var a account
	expectJSON(t, apptest.Do(t, http.MethodPost, acc+"/v1/accounts", map[string]any{
		"owner_name": "Dan Depositor", "email": "dan." + randomHex(3) + "@example.com", "referral_code": code,
	}, dan...), http.StatusCreated, &a, accountKeys...)
	waitManaged(t, portal, dan, a.ID, mgr.ID)
	var before []notification
	items(t, im+"/v1/managers/"+mgr.ID+"/notifications", &before, dora...)

	must(t, c.Stop("im"))
	d1 := deposit(t, acc, dan, a.ID, 10000, 10000)
	d2 := deposit(t, acc, dan, a.ID, 2000, 12000)
	// Enough views to open the portal's circuit breaker on im (5 failures
	// in a row): it then fails fast, and stays open a while after im is back.
	for range 6 {
		var v portalView
		m := expectJSON(t, apptest.Do(t, http.MethodGet, portal+"/v1/portal/accounts/"+a.ID, nil, dan...), http.StatusOK, &v,
			"account", "manager", "degraded")
		if m["manager"] != nil || !slices.Equal(v.Degraded, []string{"im"}) || v.Account.ID != a.ID || v.Account.Balance != 12000 {
			t.Fatalf("portal with im down: %s, want the account at 12000, manager null, degraded [im]", describe(m))
		}
	}

	restart(t, c, "im")
	cs := waitCommissions(t, im, dora, mgr.ID, 2)
	expectCommissions(t, cs, a.ID, map[string]int64{d1.ID: 150, d2.ID: 30}, 180)
	waitSent(t, im+"/v1/managers/"+mgr.ID+"/notifications", dora, len(before)+2)
	start := time.Now()
	apptest.Eventually(t, eventually, "the portal showing the manager again", func() bool {
		var v portalView
		r := apptest.Do(t, http.MethodGet, portal+"/v1/portal/accounts/"+a.ID, nil, dan...)
		expectJSON(t, r, http.StatusOK, &v, "account", "manager", "degraded")
		return len(v.Degraded) == 0 && v.Manager != nil && v.Manager.ID == mgr.ID
	})
	t.Logf("the portal showed the manager again %s after im was ready", time.Since(start).Round(time.Millisecond))
	portalOf(t, portal, dan, a.ID)
}

// killUnderLoadSuite: under a load of deposits into managed accounts,
// orders and dispatches, the process of im is killed with SIGKILL and
// started again (on NATS at a moment it holds delivered, unacknowledged
// events), then the process of orders while an order is in flight. No event
// is lost and none has a second effect. Requests that found their process
// dead are retried with their Idempotency-Key once it is back, and have
// exactly one effect.
func killUnderLoadSuite(t *testing.T, c *cluster.Cluster) {
	fx := newFixture(t, c)
	// Orders outnumber what the first half of the load takes: there are still
	// orders to kill in flight once im is back, however long its restart.
	l := fx.start(t, 60, 60, 6, 100*time.Millisecond)
	l.waitDone(t, 20)
	l.waitInFlight(t, "deposits", 0)
	waitUnacked(t, c, "im", 5*time.Second)
	must(t, c.Kill("im"))
	restart(t, c, "im")
	l.waitDone(t, 50)
	// An order in flight for a few milliseconds is in its saga: reserving,
	// debiting, marking it paid.
	l.waitInFlight(t, "orders", 5*time.Millisecond)
	must(t, c.Kill("orders"))
	time.Sleep(500 * time.Millisecond) // requests meanwhile find orders dead
	restart(t, c, "orders")
	l.wait()
	l.check(t, false)
}

// TestBrokerOutage: one process per module on a NATS server of the
// test's own, under a load of deposits, orders and dispatches. The server is
// killed (SIGKILL) for five seconds while the load goes on: every request
// still succeeds, the events wait in the outboxes. Once it is back, every
// event is delivered and has its effect once.
func TestBrokerOutage(t *testing.T) {
	t.Parallel()
	srv := startNATS(t)
	topo := cluster.OnePerModule("nats-outage", srv.URL, catalogue)
	topo.OwnBroker = true
	c := cluster.StartTB(t, topo, config(""))
	fx := newFixture(t, c)
	l := fx.start(t, 40, 20, 6, 700*time.Millisecond)
	l.waitDone(t, 10)
	must(t, srv.Kill())
	t.Logf("killed nats-server (SIGKILL)")
	down := l.done.Load()
	time.Sleep(5 * time.Second)
	during := l.done.Load() - down
	must(t, srv.Start(t.Context()))
	l.wait()
	t.Logf("%d requests answered while the broker was down", during)
	if during == 0 {
		t.Fatalf("no request ran while the broker was down: the load ended too soon")
	}
	l.check(t, true)
}

// fixture is what a load works on: a manager with managed accounts to
// deposit into, each a customer's of their own, and a funded buyer ordering
// a product of limited stock, which staff make, stock and dispatch. One
// customer per account spreads the deposits over several people's rate
// limits.
type fixture struct {
	c        *cluster.Cluster
	staff    []string // the Authorization header of staff
	mgr      manager
	manager  []string // the manager's Authorization header
	bps      int64
	managed  []account
	owners   map[string][]string // managed account id -> its owner's Authorization header
	mgrMails int                 // the manager's emails before the load
	buyer    account
	buyerAs  []string // the buyer's Authorization header
	funds    int64
	sku      string
	price    int64
	stock    int64
}

func newFixture(t *testing.T, c *cluster.Cluster) *fixture {
	t.Helper()
	fx := &fixture{c: c, bps: 150, funds: 1_000_000, sku: "LOAD-" + randomHex(3), price: 1200, stock: 14,
		owners: map[string][]string{}}
	acc, im, portal := c.URL("accounts"), c.URL("im"), c.URL("portal")
	fx.staff = person(t, c, "lee-staff", identity.Staff)
	code := "LOAD-" + randomHex(4)
	fx.mgr, fx.manager = newManager(t, c, fx.staff, "lou", map[string]any{
		"name": "Lou Load", "email": "lou." + randomHex(3) + "@im.example.com", "referral_code": code, "commission_bps": fx.bps,
	})
	for i := range 3 {
		owner := person(t, c, fmt.Sprintf("managed-%d", i), identity.Customer)
		var a account
		expectJSON(t, apptest.Do(t, http.MethodPost, acc+"/v1/accounts", map[string]any{
			"owner_name": fmt.Sprintf("Managed %d", i), "email": "managed." + randomHex(4) + "@example.com", "referral_code": code,
		}, owner...), http.StatusCreated, &a, accountKeys...)
		fx.managed = append(fx.managed, a)
		fx.owners[a.ID] = owner
	}
	for _, a := range fx.managed {
		waitManaged(t, portal, fx.owners[a.ID], a.ID, fx.mgr.ID)
	}
	var ns []notification
	items(t, im+"/v1/managers/"+fx.mgr.ID+"/notifications", &ns, fx.manager...)
	fx.mgrMails = len(ns)
	s := fx.shop(t)
	s.createProduct(t, fx.sku, "Under load", fx.price, "")
	s.receive(t, fx.sku, fx.stock, fx.stock)
	fx.buyerAs = person(t, c, "bill", identity.Customer)
	fx.buyer = s.openAccount(t, fx.buyerAs, "Bill Buyer", "", fx.funds)
	return fx
}

// shop is the fixture's cluster as a shop run by the fixture's staff.
func (fx *fixture) shop(t testing.TB) shop {
	t.Helper()
	s := shopOn(t, fx.c)
	s.staff = fx.staff
	return s
}

// call is one request of a load and its last answer.
type call struct {
	key      string   // its Idempotency-Key
	as       []string // the Authorization header of the person who makes it
	url      string
	body     any
	status   int   // 0: no answer
	err      error // why there was no answer
	answer   []byte
	replayed bool // the answer is a replay (Idempotent-Replayed)
	tries    int
}

func (c *call) ok(status int) bool { return c.status == status }

func (c *call) isOrder() bool { return strings.HasSuffix(c.url, "/v1/orders") }

func (c *call) String() string {
	if c.status == 0 {
		return fmt.Sprintf("%s (key %s): no answer: %v", c.url, c.key, c.err)
	}
	return fmt.Sprintf("%s (key %s): %d %s", c.url, c.key, c.status, c.answer)
}

// do sends the call (again) and records the answer.
func (c *call) do(client *http.Client) {
	c.tries++
	req, err := apptest.NewRequest(http.MethodPost, c.url, c.body, append([]string{"Idempotency-Key", c.key}, c.as...)...)
	if err != nil {
		c.status, c.err = 0, err
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		c.status, c.err, c.answer = 0, err, nil
		return
	}
	defer resp.Body.Close()
	c.answer, err = io.ReadAll(resp.Body)
	c.status, c.err = resp.StatusCode, err
	c.replayed = resp.Header.Get("Idempotent-Replayed") == "true"
	if err != nil {
		c.status = 0
	}
}

// load is deposits into the managed accounts by their owners and orders of
// one unit by the buyer, interleaved, run by a few workers at a pace; staff
// dispatch paid orders (every other one) as their shipments appear.
type load struct {
	fx       *fixture
	client   *http.Client
	deposits []*call
	amounts  map[*call]deposited
	orders   []*call
	done     atomic.Int64 // requests answered or failed
	finished chan struct{}
	inFlight sync.Map // *call -> when it was sent, while it waits for its answer

	mu         sync.Mutex
	paid       []string // orders answered paid, in order
	dispatched map[string]bool
	tried      int // dispatches tried
}

type deposited struct {
	account string
	amount  int64
}

func (fx *fixture) start(t *testing.T, deposits, orders, inFlight int, pace time.Duration) *load {
	t.Helper()
	l := &load{
		fx:         fx,
		client:     &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: inFlight + 2}},
		amounts:    map[*call]deposited{},
		finished:   make(chan struct{}),
		dispatched: map[string]bool{},
	}
	t.Cleanup(l.client.CloseIdleConnections)
	acc, ord := fx.c.URL("accounts"), fx.c.URL("orders")
	var jobs []*call
	for i := range deposits {
		a := fx.managed[i%len(fx.managed)]
		amount := int64(1000 + 137*i)
		d := &call{key: "load-dep-" + randomHex(6), as: fx.owners[a.ID], url: acc + "/v1/accounts/" + a.ID + "/deposits",
			body: map[string]any{"amount": amount}}
		l.deposits = append(l.deposits, d)
		l.amounts[d] = deposited{account: a.ID, amount: amount}
	}
	for range orders {
		l.orders = append(l.orders, &call{key: "load-ord-" + randomHex(6), as: fx.buyerAs, url: ord + "/v1/orders",
			body: orderRequest(fx.buyer.ID, line{SKU: fx.sku, Quantity: 1})})
	}
	// Interleave: an order after every two deposits.
	d, o := 0, 0
	for d < len(l.deposits) || o < len(l.orders) {
		for range 2 {
			if d < len(l.deposits) {
				jobs = append(jobs, l.deposits[d])
				d++
			}
		}
		if o < len(l.orders) {
			jobs = append(jobs, l.orders[o])
			o++
		}
	}
	queue := make(chan *call, len(jobs))
	for _, j := range jobs {
		queue <- j
	}
	close(queue)
	var workers sync.WaitGroup
	for range inFlight {
		workers.Go(func() {
			for j := range queue {
				isOrder := j.isOrder()
				l.inFlight.Store(j, time.Now())
				j.do(l.client)
				l.inFlight.Delete(j)
				l.done.Add(1)
				if isOrder && j.status == http.StatusCreated {
					var o order
					if json.Unmarshal(j.answer, &o) == nil && o.Status == "paid" {
						l.mu.Lock()
						l.paid = append(l.paid, o.ID)
						l.mu.Unlock()
					}
				}
				time.Sleep(pace)
			}
		})
	}
	stop := make(chan struct{})
	var dispatcher sync.WaitGroup
	dispatcher.Go(func() { l.dispatch(stop) })
	go func() {
		workers.Wait()
		close(stop)
		dispatcher.Wait()
		close(l.finished)
	}()
	return l
}

// dispatch dispatches the shipment of every other paid order, as soon as
// it is picking, until stop.
func (l *load) dispatch(stop chan struct{}) {
	wh := l.fx.c.URL("warehouse")
	for {
		select {
		case <-stop:
			return
		case <-time.After(200 * time.Millisecond):
		}
		l.mu.Lock()
		var todo []string
		for i, id := range l.paid {
			if i%2 == 0 && !l.dispatched[id] {
				todo = append(todo, id)
			}
		}
		l.mu.Unlock()
		for _, id := range todo {
			resp, err := l.send(http.MethodGet, wh+"/v1/shipments?order_id="+id)
			if err != nil {
				continue
			}
			var page struct{ Items []shipment }
			err = json.NewDecoder(resp.Body).Decode(&page)
			resp.Body.Close()
			if err != nil || len(page.Items) != 1 || page.Items[0].Status != "picking" {
				continue
			}
			l.mu.Lock()
			l.tried++
			l.mu.Unlock()
			resp, err = l.send(http.MethodPost, wh+"/v1/shipments/"+page.Items[0].ID+"/dispatch")
			if err != nil {
				continue
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				l.mu.Lock()
				l.dispatched[id] = true
				l.mu.Unlock()
			}
		}
	}
}

// send sends a request with no body as the fixture's staff.
func (l *load) send(method, url string) (*http.Response, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set(l.fx.staff[0], l.fx.staff[1])
	return l.client.Do(req)
}

// waitDone waits until n requests of the load have had their answer.
func (l *load) waitDone(t *testing.T, n int64) {
	t.Helper()
	apptest.Eventually(t, 60*time.Second, fmt.Sprintf("%d requests of the load", n), func() bool { return l.done.Load() >= n })
}

// waitInFlight waits until a request of kind ("deposits" or "orders") has
// been in flight for at least age, so that a fault strikes in the middle of
// one.
func (l *load) waitInFlight(t *testing.T, kind string, age time.Duration) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		found := false
		l.inFlight.Range(func(k, v any) bool {
			c := k.(*call)
			found = c.isOrder() == (kind == "orders") && time.Since(v.(time.Time)) >= age
			return !found
		})
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s in flight for %s within 10s", kind, age)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// wait waits for the load to end.
func (l *load) wait() { <-l.finished }

// check retries every request that got no answer or a 5xx with its
// Idempotency-Key (strict: none may have failed), waits for the effects to
// settle, and checks that they add up: every deposit answered is in the
// ledger once and has one commission and one manager email; no order stays
// placed; every paid order has one debit and one shipment, shipped exactly
// when its shipment was dispatched; a rejected order has neither; the stock
// agrees; no module has dead letters.
func (l *load) check(t *testing.T, strict bool) {
	t.Helper()
	fx, c := l.fx, l.fx.c
	s := fx.shop(t)
	start := time.Now()
	var failed []*call
	for _, call := range slices.Concat(l.deposits, l.orders) {
		if call.status == 0 || call.status >= 500 {
			failed = append(failed, call)
		} else if !call.ok(http.StatusCreated) {
			t.Fatalf("a request of the load was refused: %s", call)
		}
	}
	t.Logf("load: %d deposits and %d orders, %d without an answer or with a 5xx; %d dispatches tried, %d dispatched",
		len(l.deposits), len(l.orders), len(failed), l.tried, len(l.dispatched))
	for _, call := range failed {
		t.Logf("failed: %s", call)
	}
	if strict && len(failed) > 0 {
		t.Fatalf("%d requests failed while only the broker was down; want every one answered", len(failed))
	}
	for _, call := range failed {
		apptest.Eventually(t, 30*time.Second, "an answer to the retry of "+call.key, func() bool {
			call.do(l.client)
			return call.status != 0 && call.status < 500
		})
		if !call.ok(http.StatusCreated) {
			t.Fatalf("the retry after the fault was refused: %s", call)
		}
		if call.replayed {
			t.Logf("the retry of %s replayed what the fault interrupted: %s", call.key, call.answer)
		}
	}

	// Deposits: in the ledger exactly once; nothing else.
	want := map[string]map[string]int64{} // account -> transaction -> amount
	var deposits []transaction
	for _, d := range l.deposits {
		var tx transaction
		if err := json.Unmarshal(d.answer, &tx); err != nil || tx.ID == "" || tx.Kind != "deposit" {
			t.Fatalf("deposit %s answered %s", d.key, d.answer)
		}
		dep := l.amounts[d]
		if tx.AccountID != dep.account || tx.Amount != dep.amount {
			t.Fatalf("deposit %s of %d into %s answered %s", d.key, dep.amount, dep.account, describe(tx))
		}
		if want[tx.AccountID] == nil {
			want[tx.AccountID] = map[string]int64{}
		}
		if _, dup := want[tx.AccountID][tx.ID]; dup {
			t.Fatalf("two deposits answered transaction %s", tx.ID)
		}
		want[tx.AccountID][tx.ID] = tx.Amount
		deposits = append(deposits, tx)
	}
	for _, a := range fx.managed {
		var txs []transaction
		items(t, c.URL("accounts")+"/v1/accounts/"+a.ID+"/transactions", &txs, fx.owners[a.ID]...)
		var sum int64
		for _, tx := range txs {
			if amount, ok := want[a.ID][tx.ID]; !ok || tx.Kind != "deposit" || tx.Amount != amount {
				t.Fatalf("account %s has transaction %s that no answered deposit accounts for", a.ID, describe(tx))
			}
			sum += tx.Amount
		}
		if len(txs) != len(want[a.ID]) {
			t.Fatalf("account %s has %d transactions, want the %d deposits answered", a.ID, len(txs), len(want[a.ID]))
		}
		expectBalance(t, c.URL("accounts"), fx.owners[a.ID], a.ID, sum)
	}

	// Orders: one per Idempotency-Key, none left placed.
	known := map[string]bool{}
	for _, o := range l.orders {
		var got order
		if err := json.Unmarshal(o.answer, &got); err != nil || got.ID == "" {
			t.Fatalf("order %s answered %s", o.key, o.answer)
		}
		if known[got.ID] {
			t.Fatalf("two order requests answered order %s", got.ID)
		}
		known[got.ID] = true
	}
	var list []order
	poll(t, settle, "every order of the load finished (none placed)", func() bool {
		list = s.orders(t, fx.buyerAs, fx.buyer.ID)
		for _, o := range list {
			if o.Status == "placed" {
				return false
			}
		}
		return true
	})
	if len(list) != len(l.orders) {
		t.Fatalf("the buyer has %d orders, want one per order request (%d): %s", len(list), len(l.orders), describe(list))
	}
	for _, o := range list {
		if !known[o.ID] {
			t.Fatalf("order %s was answered to no request: %s", o.ID, describe(o))
		}
	}

	// Shipments: one per paid order, dispatched exactly when the order is
	// shipped; none for a rejected order. An order whose shipments agree
	// with it stays so (nothing dispatches once the load is over), and is not
	// asked about again: staff then read the shipments of the few orders
	// still settling (the paid ones, as many as the units in stock, at most),
	// not of every order every round, and a round every 250ms keeps them
	// well within staff's rate limit for as long as settle.
	settled := map[string]order{}
	pollEvery(t, settle, 250*time.Millisecond, "one shipment per paid order, dispatched exactly for the shipped ones", func() bool {
		all := true
		for _, o := range s.orders(t, fx.buyerAs, fx.buyer.ID) {
			if _, ok := settled[o.ID]; ok {
				continue
			}
			ships := s.shipments(t, o.ID)
			done := true
			switch o.Status {
			case "rejected":
				if o.reason() != "out_of_stock" {
					t.Fatalf("order %s rejected for %q, want only out_of_stock: %s", o.ID, o.reason(), describe(o))
				}
				if len(ships) != 0 {
					t.Fatalf("rejected order %s has shipments %s", o.ID, describe(ships))
				}
			case "paid", "shipped":
				if len(ships) > 1 {
					t.Fatalf("order %s has %d shipments, want one: %s", o.ID, len(ships), describe(ships))
				}
				if len(ships) == 0 || (ships[0].Status == "dispatched") != (o.Status == "shipped") {
					done = false
				}
				l.mu.Lock()
				if l.dispatched[o.ID] && o.Status != "shipped" {
					done = false
				}
				l.mu.Unlock()
			default:
				t.Fatalf("order %s is %s after the load: %s", o.ID, o.Status, describe(o))
			}
			if done {
				settled[o.ID] = o
			} else {
				all = false
			}
		}
		return all
	})
	var paid, shipped, rejected int64
	debited := map[string]int64{}
	for _, o := range settled {
		switch o.Status {
		case "rejected":
			rejected++
		case "paid":
			paid++
			debited[o.ID] = o.Total
		case "shipped":
			shipped++
			debited[o.ID] = o.Total
		}
	}
	t.Logf("orders: %d paid, %d shipped, %d rejected", paid, shipped, rejected)
	if paid+shipped != min(fx.stock, int64(len(l.orders))) {
		t.Fatalf("%d orders paid or shipped, want the %d units in stock sold", paid+shipped, min(fx.stock, int64(len(l.orders))))
	}
	s.expectStock(t, fx.sku, fx.stock-shipped, paid)
	s.expectLedger(t, fx.buyerAs, fx.buyer.ID, fx.funds-fx.price*(paid+shipped), debited, map[string]int64{})

	// Commissions and manager emails: one per deposit.
	im := c.URL("im")
	cs := waitCommissionsWithin(t, settle, im, fx.manager, fx.mgr.ID, len(deposits))
	var total int64
	seen := map[string]bool{}
	byTx := map[string]transaction{}
	for _, tx := range deposits {
		byTx[tx.ID] = tx
		total += tx.Amount * fx.bps / 10000
	}
	for _, cm := range cs.Items {
		tx, ok := byTx[cm.TransactionID]
		if !ok || seen[cm.TransactionID] || cm.AccountID != tx.AccountID || cm.Amount != tx.Amount*fx.bps/10000 {
			t.Fatalf("commission %s: want one per deposit answered, of floor(amount*%d/10000): %s", describe(cm), fx.bps, describe(cs))
		}
		seen[cm.TransactionID] = true
	}
	if len(cs.Items) != len(deposits) || cs.Total != total {
		t.Fatalf("%d commissions totalling %d, want %d (one per deposit) totalling %d", len(cs.Items), cs.Total, len(deposits), total)
	}
	waitSentWithin(t, settle, im+"/v1/managers/"+fx.mgr.ID+"/notifications", fx.manager, fx.mgrMails+len(deposits))

	// Nothing waits for an operator.
	for _, m := range []string{"accounts", "im", "orders", "warehouse"} {
		var dead []map[string]any
		items(t, c.InternalURL(m)+"/ops/dead-letters", &dead, operator(t, c)...)
		if len(dead) != 0 {
			t.Fatalf("%s has dead letters after the load: %s", m, describe(dead))
		}
	}
	t.Logf("every effect of the load added up %s after it ended", time.Since(start).Round(time.Millisecond))
	// A second look: no late redelivery added anything.
	time.Sleep(time.Second)
	if again := waitCommissions(t, im, fx.manager, fx.mgr.ID, len(deposits)); len(again.Items) != len(deposits) {
		t.Fatalf("%d commissions a second later, want %d", len(again.Items), len(deposits))
	}
	waitSent(t, im+"/v1/managers/"+fx.mgr.ID+"/notifications", fx.manager, fx.mgrMails+len(deposits))
}

// startNATS starts a NATS server with JetStream of the test's own, so that
// stopping it disturbs nobody else, and stops it when t ends.
func startNATS(t *testing.T) *cluster.NATSServer {
	t.Helper()
	srv, err := cluster.StartNATS(t.Context(), cluster.NATSConfig{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			t.Logf("nats-server output:\n%s", tail(srv.Output()))
		}
	})
	return srv
}

// waitUnacked waits, on a NATS bus, until the consumer group of module holds
// a message delivered and not yet acknowledged, so that killing it then
// leaves the broker a delivery to make again; it gives up after timeout. On
// the other buses it returns at once.
func waitUnacked(t *testing.T, c *cluster.Cluster, module string, timeout time.Duration) {
	t.Helper()
	bus := c.Bus()
	if !strings.HasPrefix(bus, "nats://") {
		return
	}
	nc, err := nats.Connect(bus, nats.Timeout(5*time.Second))
	if err != nil {
		t.Fatalf("connect to NATS: %v", err)
	}
	defer nc.Close()
	js, err := nc.JetStream(nats.MaxWait(5 * time.Second))
	if err != nil {
		t.Fatalf("JetStream: %v", err)
	}
	group, prefix := module, ""
	if ns := c.Namespace(); ns != "" {
		group, prefix = ns+"_"+module, ns+"."
	}
	info, ok := catalogue.Module(module)
	if !ok {
		t.Fatalf("the binary has no module %s", module)
	}
	start := time.Now()
	for time.Since(start) < timeout {
		for _, topic := range info.Consumes {
			stream := strings.ReplaceAll(prefix+topic, ".", "_")
			info, err := js.ConsumerInfo(stream, group)
			if err != nil {
				t.Fatalf("NATS consumer %s on %s: %v", group, stream, err)
			}
			if info.NumAckPending > 0 {
				t.Logf("%s holds %d unacknowledged message(s) of %s", module, info.NumAckPending, topic)
				return
			}
		}
	}
	t.Logf("%s held no unacknowledged message within %s", module, timeout)
}
