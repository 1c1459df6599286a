package e2e

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/uberservice/uberservice/internal/cluster"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// The shop's DTOs (design/DOMAIN.md, orders and warehouse), as a client
// decodes them.

type product struct {
	SKU       string `json:"sku"`
	Name      string `json:"name"`
	Price     int64  `json:"price"`
	Currency  string `json:"currency"`
	OnHand    int64  `json:"on_hand"`
	Reserved  int64  `json:"reserved"`
	Available int64  `json:"available"`
}

var productKeys = []string{"sku", "name", "price", "currency", "on_hand", "reserved", "available"}

type orderLine struct {
	SKU       string `json:"sku"`
	Quantity  int64  `json:"quantity"`
	UnitPrice int64  `json:"unit_price"`
	LineTotal int64  `json:"line_total"`
}

type order struct {
	ID           string      `json:"id"`
	AccountID    string      `json:"account_id"`
	Status       string      `json:"status"`
	RejectReason *string     `json:"reject_reason"`
	Lines        []orderLine `json:"lines"`
	Total        int64       `json:"total"`
	Currency     string      `json:"currency"`
	CreatedAt    string      `json:"created_at"`
	UpdatedAt    string      `json:"updated_at"`
}

var orderKeys = []string{"id", "account_id", "status", "reject_reason", "lines", "total", "currency", "created_at", "updated_at"}

func (o order) reason() string {
	if o.RejectReason == nil {
		return ""
	}
	return *o.RejectReason
}

type shipment struct {
	ID      string `json:"id"`
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
	Lines   []struct {
		SKU      string `json:"sku"`
		Quantity int64  `json:"quantity"`
	} `json:"lines"`
}

// entry is a transaction of an account's ledger with the reference that
// debits and credits of orders carry.
type entry struct {
	ID           string `json:"id"`
	AccountID    string `json:"account_id"`
	Kind         string `json:"kind"`
	Amount       int64  `json:"amount"`
	BalanceAfter int64  `json:"balance_after"`
	Reference    string `json:"reference"`
}

// line is one line of an order request.
type line struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

func orderRequest(accountID string, lines ...line) map[string]any {
	return map[string]any{"account_id": accountID, "lines": lines}
}

// shop is a running system with every module, seen by its base URLs, and
// the staff who run the store: they make the products, receive the stock,
// read the shipments and dispatch them. Customers are the tests' own, each
// acting on the accounts and orders of their own.
type shop struct {
	sys                  system
	p                    *cluster.Process // the process, when startShop started one
	acc, ord, wh, portal string
	staff                []string // the Authorization header of the store's staff
}

// shopOn is the shop of a running system, with staff of its own.
func shopOn(t testing.TB, sys system) shop {
	t.Helper()
	return shop{sys: sys, acc: sys.URL("accounts"), ord: sys.URL("orders"), wh: sys.URL("warehouse"), portal: sys.URL("portal"),
		staff: person(t, sys, "stan-staff", identity.Staff)}
}

// startShop runs every module in one process against db, with env
// (NAME=VALUE) added to its environment.
func startShop(t testing.TB, db string, env ...string) shop {
	t.Helper()
	cfg := config(db)
	cfg.Env = env
	c := startOne(t, "gochannel", catalogue.Names(), cfg)
	s := shopOn(t, c)
	s.p = c.Processes()[0]
	return s
}

func (s shop) createProduct(t testing.TB, sku, name string, price int64, currency string) product {
	t.Helper()
	body := map[string]any{"sku": sku, "name": name, "price": price}
	if currency != "" {
		body["currency"] = currency
	} else {
		currency = "USD"
	}
	var p product
	expectJSON(t, apptest.Do(t, http.MethodPost, s.wh+"/v1/products", body, s.staff...), http.StatusCreated, &p, productKeys...)
	if p.SKU != sku || p.Name != name || p.Price != price || p.Currency != currency || p.OnHand != 0 || p.Reserved != 0 || p.Available != 0 {
		t.Fatalf("created product %+v, want %s %q at %d %s with no stock", p, sku, name, price, currency)
	}
	return p
}

func (s shop) receive(t testing.TB, sku string, quantity, onHand int64) {
	t.Helper()
	var p product
	expectJSON(t, apptest.Do(t, http.MethodPost, s.wh+"/v1/products/"+sku+"/stock", map[string]any{"quantity": quantity}, s.staff...),
		http.StatusOK, &p, productKeys...)
	if p.SKU != sku || p.OnHand != onHand || p.Available != onHand-p.Reserved {
		t.Fatalf("after receiving %d of %s: %+v, want on_hand %d", quantity, sku, p, onHand)
	}
}

func (s shop) product(t testing.TB, sku string) product {
	t.Helper()
	var p product
	expectJSON(t, apptest.Do(t, http.MethodGet, s.wh+"/v1/products/"+sku, nil, s.staff...), http.StatusOK, &p, productKeys...)
	return p
}

// expectStock fails unless sku has onHand and reserved, and on_hand-reserved
// available.
func (s shop) expectStock(t testing.TB, sku string, onHand, reserved int64) {
	t.Helper()
	p := s.product(t, sku)
	if p.OnHand != onHand || p.Reserved != reserved || p.Available != onHand-reserved {
		t.Fatalf("stock of %s: on_hand %d, reserved %d, available %d; want %d, %d, %d",
			sku, p.OnHand, p.Reserved, p.Available, onHand, reserved, onHand-reserved)
	}
}

// openAccount opens an account of the customer as, in currency (USD when
// empty), and deposits amount into it (nothing when 0).
func (s shop) openAccount(t testing.TB, as []string, owner string, currency string, amount int64) account {
	t.Helper()
	body := map[string]any{"owner_name": owner, "email": "shopper." + randomHex(4) + "@example.com"}
	if currency != "" {
		body["currency"] = currency
	}
	var a account
	expectJSON(t, apptest.Do(t, http.MethodPost, s.acc+"/v1/accounts", body, as...), http.StatusCreated, &a, accountKeys...)
	if amount > 0 {
		deposit(t, s.acc, as, a.ID, amount, amount)
		a.Balance = amount
	}
	return a
}

// balance is the balance of an account, read by the person as (its owner,
// or staff).
func (s shop) balance(t testing.TB, as []string, accountID string) int64 {
	t.Helper()
	var a account
	expectJSON(t, apptest.Do(t, http.MethodGet, s.acc+"/v1/accounts/"+accountID, nil, as...), http.StatusOK, &a, accountKeys...)
	return a.Balance
}

// ledger is the transactions of an account, read by the person as.
func (s shop) ledger(t testing.TB, as []string, accountID string) []entry {
	t.Helper()
	var es []entry
	items(t, s.acc+"/v1/accounts/"+accountID+"/transactions", &es, as...)
	return es
}

// expectLedger fails unless the account's balance is balance, its
// transactions add up to it, and each order of orders has exactly one debit of
// its total (with the order id as reference) and, when refunded, one credit
// of it; no other debit or credit exists. The person as reads them.
func (s shop) expectLedger(t testing.TB, as []string, accountID string, balance int64, debited map[string]int64, refunded map[string]int64) []entry {
	t.Helper()
	if got := s.balance(t, as, accountID); got != balance {
		t.Fatalf("balance of %s is %d, want %d", accountID, got, balance)
	}
	es := s.ledger(t, as, accountID)
	var sum int64
	debits, credits := map[string]int{}, map[string]int{}
	for _, e := range es {
		if e.AccountID != accountID {
			t.Fatalf("transaction %s of account %s is on %s", e.ID, accountID, e.AccountID)
		}
		switch e.Kind {
		case "deposit":
			sum += e.Amount
		case "withdrawal":
			sum -= e.Amount
		case "debit":
			sum -= e.Amount
			want, ok := debited[e.Reference]
			if !ok {
				t.Fatalf("debit %s of %d with reference %q belongs to no paid order (%v): %s", e.ID, e.Amount, e.Reference, debited, describe(es))
			}
			if e.Amount != want {
				t.Fatalf("debit for order %s is %d, want its total %d", e.Reference, e.Amount, want)
			}
			debits[e.Reference]++
		case "credit":
			sum += e.Amount
			want, ok := refunded[e.Reference]
			if !ok {
				t.Fatalf("credit %s of %d with reference %q belongs to no refunded order (%v): %s", e.ID, e.Amount, e.Reference, refunded, describe(es))
			}
			if e.Amount != want {
				t.Fatalf("refund for order %s is %d, want its total %d", e.Reference, e.Amount, want)
			}
			credits[e.Reference]++
		default:
			t.Fatalf("transaction of unknown kind %q: %s", e.Kind, describe(e))
		}
	}
	for id := range debited {
		if debits[id] != 1 {
			t.Fatalf("order %s has %d debits, want exactly 1: %s", id, debits[id], describe(es))
		}
	}
	for id := range refunded {
		if credits[id] != 1 {
			t.Fatalf("order %s has %d refunds, want exactly 1: %s", id, credits[id], describe(es))
		}
	}
	if sum != balance {
		t.Fatalf("the transactions of %s add up to %d, the balance is %d: %s", accountID, sum, balance, describe(es))
	}
	return es
}

// checkOrder fails unless r is 201 with a well-formed order of accountID.
func checkOrder(t testing.TB, r apptest.Response, status int, accountID string) order {
	t.Helper()
	var o order
	expectJSON(t, r, status, &o, orderKeys...)
	expectUUID(t, "order id", o.ID)
	expectTime(t, "order created_at", o.CreatedAt)
	expectTime(t, "order updated_at", o.UpdatedAt)
	if o.AccountID != accountID {
		t.Fatalf("order %s is of account %s, want %s", o.ID, o.AccountID, accountID)
	}
	if o.Lines == nil {
		t.Fatalf("order %s has no lines array: %s", o.ID, r.Body)
	}
	return o
}

// place places an order from accountID as the customer as, with headers,
// and expects 201.
func (s shop) place(t testing.TB, as []string, accountID string, lines []line, headers ...string) order {
	t.Helper()
	return checkOrder(t, apptest.Do(t, http.MethodPost, s.ord+"/v1/orders", orderRequest(accountID, lines...),
		append(slices.Clone(headers), as...)...), http.StatusCreated, accountID)
}

// expectPaid fails unless o is paid at prices (sku -> unit price), in
// currency, for its lines in SKU order.
func expectPaid(t testing.TB, o order, currency string, lines []line, prices map[string]int64) {
	t.Helper()
	if o.Status != "paid" || o.RejectReason != nil {
		t.Fatalf("order %s is %s (reason %q), want paid with no reason: %s", o.ID, o.Status, o.reason(), describe(o))
	}
	want := make([]orderLine, len(lines))
	var total int64
	for i, l := range lines {
		p := prices[l.SKU]
		want[i] = orderLine{SKU: l.SKU, Quantity: l.Quantity, UnitPrice: p, LineTotal: p * l.Quantity}
		total += p * l.Quantity
	}
	slices.SortFunc(want, func(a, b orderLine) int {
		switch {
		case a.SKU < b.SKU:
			return -1
		case a.SKU > b.SKU:
			return 1
		}
		return 0
	})
	got := slices.Clone(o.Lines)
	slices.SortFunc(got, func(a, b orderLine) int {
		switch {
		case a.SKU < b.SKU:
			return -1
		case a.SKU > b.SKU:
			return 1
		}
		return 0
	})
	if !slices.Equal(got, want) || o.Total != total || o.Currency != currency {
		t.Fatalf("paid order %s: lines %s, total %d %s; want lines %s, total %d %s",
			o.ID, describe(o.Lines), o.Total, o.Currency, describe(want), total, currency)
	}
}

func expectRejected(t testing.TB, o order, reason string) {
	t.Helper()
	if o.Status != "rejected" || o.reason() != reason {
		t.Fatalf("order %s is %s (reason %q), want rejected for %s: %s", o.ID, o.Status, o.reason(), reason, describe(o))
	}
}

// order is order id, read by the person as (its customer, or staff).
func (s shop) order(t testing.TB, as []string, id string) order {
	t.Helper()
	var o order
	expectJSON(t, apptest.Do(t, http.MethodGet, s.ord+"/v1/orders/"+id, nil, as...), http.StatusOK, &o, orderKeys...)
	if o.ID != id {
		t.Fatalf("GET order %s answered order %s", id, o.ID)
	}
	return o
}

// waitOrder polls order id as the person as until done holds, for up to
// timeout.
func (s shop) waitOrder(t testing.TB, as []string, id string, timeout time.Duration, what string, done func(order) bool) order {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		o := s.order(t, as, id)
		if done(o) {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s: %s did not happen within %s; last: %s", id, what, timeout, describe(o))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// orders are the orders of accountID that the person as sees: those they
// placed, or every one for staff.
func (s shop) orders(t testing.TB, as []string, accountID string) []order {
	t.Helper()
	var list []order
	items(t, s.ord+"/v1/orders?account_id="+accountID, &list, as...)
	return list
}

// shipments are the shipments of orderID, read by staff.
func (s shop) shipments(t testing.TB, orderID string) []shipment {
	t.Helper()
	var list []shipment
	items(t, s.wh+"/v1/shipments?order_id="+orderID, &list, s.staff...)
	return list
}

// dispatch has staff dispatch shipment id.
func (s shop) dispatch(t testing.TB, id string) apptest.Response {
	t.Helper()
	return apptest.Do(t, http.MethodPost, s.wh+"/v1/shipments/"+id+"/dispatch", nil, s.staff...)
}

// cancel has the customer as cancel order id.
func (s shop) cancel(t testing.TB, as []string, id string) apptest.Response {
	t.Helper()
	return apptest.Do(t, http.MethodPost, s.ord+"/v1/orders/"+id+"/cancel", nil, as...)
}

// waitShipment polls the shipments of orderID until it has exactly one, in
// status.
func (s shop) waitShipment(t testing.TB, orderID, status string) shipment {
	t.Helper()
	deadline := time.Now().Add(eventually)
	for {
		list := s.shipments(t, orderID)
		if len(list) > 1 {
			t.Fatalf("order %s has %d shipments, want one: %s", orderID, len(list), describe(list))
		}
		if len(list) == 1 && list[0].Status == status {
			sh := list[0]
			expectUUID(t, "shipment id", sh.ID)
			if sh.OrderID != orderID {
				t.Fatalf("shipment %s listed for order %s is of order %s", sh.ID, orderID, sh.OrderID)
			}
			return sh
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %s: no single %s shipment within %s; shipments: %s", orderID, status, eventually, describe(list))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shopSuite walks the shop through HTTP only, on a running system (see
// TestTopologies): staff make a product and receive its stock; a customer,
// Grace, funds her account and orders, and her order is paid, picked,
// dispatched by staff and shipped; a paid order cancelled and refunded;
// every reason to reject an order; and an order retried with an
// Idempotency-Key.
func shopSuite(t *testing.T, sys system) {
	s := shopOn(t, sys)
	for _, m := range catalogue.Names() {
		for _, path := range []string{"/healthz", "/readyz"} {
			apptest.Do(t, http.MethodGet, sys.URL(m)+path, nil).Expect(t, http.StatusOK)
		}
	}

	// The catalogue: a book, a pen, and a EUR product.
	book, pen, euro := "BOOK-"+randomHex(3), "PEN-"+randomHex(3), "EURO-"+randomHex(3)
	s.createProduct(t, book, "The Go Programming Language", 3999, "")
	s.createProduct(t, pen, "A pen", 250, "")
	s.createProduct(t, euro, "Ein Buch", 2000, "EUR")
	expectProblem(t, apptest.Do(t, http.MethodPost, s.wh+"/v1/products", map[string]any{"sku": book, "name": "Again", "price": 1}, s.staff...),
		http.StatusConflict, "")
	s.receive(t, book, 10, 10)
	s.receive(t, pen, 5, 5)
	s.receive(t, euro, 3, 3)
	prices := map[string]int64{book: 3999, pen: 250, euro: 2000}

	// A customer with 100000 in the account.
	grace := person(t, sys, "grace", identity.Customer)
	a := s.openAccount(t, grace, "Grace Customer", "", 100000)
	balance := int64(100000)
	debited, refunded := map[string]int64{}, map[string]int64{}
	var placed []string // the ids of a's orders, oldest first

	// An order of two books and a pen: paid, debited, reserved.
	lines1 := []line{{SKU: pen, Quantity: 1}, {SKU: book, Quantity: 2}}
	o1 := s.place(t, grace, a.ID, lines1)
	placed = append(placed, o1.ID)
	expectPaid(t, o1, "USD", lines1, prices)
	if o1.Total != 2*3999+250 {
		t.Fatalf("order total %d, want %d", o1.Total, 2*3999+250)
	}
	balance -= o1.Total
	debited[o1.ID] = o1.Total
	s.expectLedger(t, grace, a.ID, balance, debited, refunded)
	s.expectStock(t, book, 10, 2)
	s.expectStock(t, pen, 5, 1)
	if got := s.order(t, grace, o1.ID); describe(got) != describe(o1) {
		t.Fatalf("GET order = %s, want the answer to the POST %s", describe(got), describe(o1))
	}
	if got := s.order(t, s.staff, o1.ID); describe(got) != describe(o1) {
		t.Fatalf("GET order as staff = %s, want the answer to the POST %s", describe(got), describe(o1))
	}
	expectProblem(t, apptest.Do(t, http.MethodGet, s.ord+"/v1/orders/"+newUUID(), nil, grace...), http.StatusNotFound, "")

	// order_paid makes the warehouse pick it; staff dispatching it ships the order.
	sh1 := s.waitShipment(t, o1.ID, "picking")
	gotLines := map[string]int64{}
	for _, l := range sh1.Lines {
		gotLines[l.SKU] += l.Quantity
	}
	if len(sh1.Lines) != 2 || gotLines[book] != 2 || gotLines[pen] != 1 {
		t.Fatalf("shipment lines %s, want 2×%s and 1×%s", describe(sh1.Lines), book, pen)
	}
	var dispatched shipment
	expectJSON(t, s.dispatch(t, sh1.ID), http.StatusOK, &dispatched, "id", "order_id", "status", "lines")
	if dispatched.ID != sh1.ID || dispatched.Status != "dispatched" {
		t.Fatalf("dispatch answered %s, want shipment %s dispatched", describe(dispatched), sh1.ID)
	}
	shipped := s.waitOrder(t, grace, o1.ID, eventually, "shipped", func(o order) bool { return o.Status == "shipped" })
	if shipped.Total != o1.Total || describe(shipped.Lines) != describe(o1.Lines) {
		t.Fatalf("shipped order %s changed its lines or total: was %s", describe(shipped), describe(o1))
	}
	s.expectStock(t, book, 8, 0)
	s.expectStock(t, pen, 4, 0)
	s.expectLedger(t, grace, a.ID, balance, debited, refunded)

	// A second order, paid, then cancelled: refunded, stock back, shipment cancelled.
	lines2 := []line{{SKU: book, Quantity: 1}}
	o2 := s.place(t, grace, a.ID, lines2)
	placed = append(placed, o2.ID)
	expectPaid(t, o2, "USD", lines2, prices)
	debited[o2.ID] = o2.Total
	s.expectLedger(t, grace, a.ID, balance-o2.Total, debited, refunded)
	s.expectStock(t, book, 8, 1)
	sh2 := s.waitShipment(t, o2.ID, "picking")
	c2 := checkOrder(t, s.cancel(t, grace, o2.ID), http.StatusOK, a.ID)
	if c2.ID != o2.ID || c2.Status != "cancelled" || c2.Total != o2.Total {
		t.Fatalf("cancel answered %s, want order %s cancelled with its total %d", describe(c2), o2.ID, o2.Total)
	}
	refunded[o2.ID] = o2.Total
	s.expectLedger(t, grace, a.ID, balance, debited, refunded)
	s.expectStock(t, book, 8, 0)
	if got := s.waitShipment(t, o2.ID, "cancelled"); got.ID != sh2.ID {
		t.Fatalf("the cancelled shipment is %s, want the picking one %s", got.ID, sh2.ID)
	}
	expectProblem(t, s.dispatch(t, sh2.ID), http.StatusConflict, "")
	s.expectStock(t, book, 8, 0)
	// Cancelling again changes nothing.
	again := checkOrder(t, s.cancel(t, grace, o2.ID), http.StatusOK, a.ID)
	if describe(again) != describe(c2) {
		t.Fatalf("a second cancel answered %s, want the cancelled order unchanged %s", describe(again), describe(c2))
	}
	s.expectLedger(t, grace, a.ID, balance, debited, refunded)
	// A shipped order cannot be cancelled.
	expectProblem(t, s.cancel(t, grace, o1.ID), http.StatusConflict, "not_cancellable")
	if got := s.order(t, grace, o1.ID); got.Status != "shipped" {
		t.Fatalf("order %s is %s after a refused cancel, want shipped", o1.ID, got.Status)
	}
	expectProblem(t, s.cancel(t, grace, newUUID()), http.StatusNotFound, "")
	s.expectLedger(t, grace, a.ID, balance, debited, refunded)

	// An Idempotency-Key: the retry gets the same order, with one debit.
	key := "order-" + randomHex(8)
	lines3 := []line{{SKU: book, Quantity: 1}}
	o3 := s.place(t, grace, a.ID, lines3, "Idempotency-Key", key)
	placed = append(placed, o3.ID)
	expectPaid(t, o3, "USD", lines3, prices)
	replay := apptest.Do(t, http.MethodPost, s.ord+"/v1/orders", orderRequest(a.ID, lines3...),
		append([]string{"Idempotency-Key", key}, grace...)...)
	r3 := checkOrder(t, replay, http.StatusCreated, a.ID)
	if describe(r3) != describe(o3) {
		t.Fatalf("the replay answered %s, want the first order %s", describe(r3), describe(o3))
	}
	if replay.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("the replay is not marked Idempotent-Replayed: %v", replay.Header)
	}
	expectProblem(t, apptest.Do(t, http.MethodPost, s.ord+"/v1/orders", orderRequest(a.ID, line{SKU: book, Quantity: 2}),
		append([]string{"Idempotency-Key", key}, grace...)...), http.StatusUnprocessableEntity, "")
	balance -= o3.Total
	debited[o3.ID] = o3.Total
	s.expectLedger(t, grace, a.ID, balance, debited, refunded)
	s.expectStock(t, book, 8, 1)

	// Every reason to reject an order; a rejection changes no stock and no money.
	unknownAccount := newUUID()
	ua := s.place(t, grace, unknownAccount, []line{{SKU: book, Quantity: 1}})
	expectRejected(t, ua, "unknown_account")
	if list := s.orders(t, grace, unknownAccount); len(list) != 1 || list[0].ID != ua.ID {
		t.Fatalf("orders of the unknown account: %s, want the rejected one", describe(list))
	}

	us := s.place(t, grace, a.ID, []line{{SKU: book, Quantity: 1}, {SKU: "NOPE-" + randomHex(3), Quantity: 1}})
	placed = append(placed, us.ID)
	expectRejected(t, us, "unknown_sku")

	oos := s.place(t, grace, a.ID, []line{{SKU: pen, Quantity: 1}, {SKU: book, Quantity: 8}})
	placed = append(placed, oos.ID)
	expectRejected(t, oos, "out_of_stock")

	percy := person(t, sys, "percy", identity.Customer)
	poor := s.openAccount(t, percy, "Percy Poor", "", 1000)
	nsf := s.place(t, percy, poor.ID, []line{{SKU: book, Quantity: 1}})
	expectRejected(t, nsf, "insufficient_funds")
	s.expectLedger(t, percy, poor.ID, 1000, map[string]int64{}, map[string]int64{})

	cm := s.place(t, grace, a.ID, []line{{SKU: euro, Quantity: 1}})
	placed = append(placed, cm.ID)
	expectRejected(t, cm, "currency_mismatch")
	mixed := s.place(t, grace, a.ID, []line{{SKU: euro, Quantity: 1}, {SKU: pen, Quantity: 1}})
	placed = append(placed, mixed.ID)
	expectRejected(t, mixed, "currency_mismatch")

	// Nothing of the rejected orders stays reserved, and no money moved.
	s.expectStock(t, book, 8, 1)
	s.expectStock(t, pen, 4, 0)
	s.expectStock(t, euro, 3, 0)
	s.expectLedger(t, grace, a.ID, balance, debited, refunded)
	for _, o := range []order{ua, us, oos, nsf, cm, mixed} {
		if got := s.order(t, s.staff, o.ID); got.Status != "rejected" || got.reason() != o.reason() {
			t.Fatalf("GET rejected order %s: %s, want rejected for %s", o.ID, describe(got), o.reason())
		}
		if list := s.shipments(t, o.ID); len(list) != 0 {
			t.Fatalf("rejected order %s has shipments %s", o.ID, describe(list))
		}
	}
	// A rejected order cannot be cancelled.
	expectProblem(t, s.cancel(t, percy, nsf.ID), http.StatusConflict, "not_cancellable")
	// A EUR account pays for the EUR product.
	emma := person(t, sys, "emma", identity.Customer)
	eur := s.openAccount(t, emma, "Emma Euro", "EUR", 5000)
	eo := s.place(t, emma, eur.ID, []line{{SKU: euro, Quantity: 2}})
	expectPaid(t, eo, "EUR", []line{{SKU: euro, Quantity: 2}}, prices)
	s.expectLedger(t, emma, eur.ID, 1000, map[string]int64{eo.ID: 4000}, map[string]int64{})
	s.expectStock(t, euro, 3, 2)

	// The account's orders, newest first, as its customer and as staff.
	want := slices.Clone(placed)
	slices.Reverse(want)
	wantStatus := map[string]string{o1.ID: "shipped", o2.ID: "cancelled", o3.ID: "paid", us.ID: "rejected", oos.ID: "rejected",
		cm.ID: "rejected", mixed.ID: "rejected"}
	for _, as := range [][]string{grace, s.staff} {
		list := s.orders(t, as, a.ID)
		var ids []string
		for _, o := range list {
			ids = append(ids, o.ID)
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("GET /v1/orders?account_id lists %v, want newest first %v", ids, want)
		}
		for i, o := range list {
			if o.Status != wantStatus[o.ID] || o.AccountID != a.ID {
				t.Fatalf("listed order %s: %s, want status %s", o.ID, describe(o), wantStatus[o.ID])
			}
			if i > 0 && expectTime(t, "created_at", o.CreatedAt).After(expectTime(t, "created_at", list[i-1].CreatedAt)) {
				t.Fatalf("orders not newest first: %s before %s", list[i-1].CreatedAt, o.CreatedAt)
			}
		}
	}
	expectProblem(t, apptest.Do(t, http.MethodGet, s.ord+"/v1/orders", nil, grace...), http.StatusUnprocessableEntity, "")
	if l := s.orders(t, percy, poor.ID); len(l) != 1 || l[0].ID != nsf.ID {
		t.Fatalf("orders of the poor account: %s, want only %s", describe(l), nsf.ID)
	}
}
