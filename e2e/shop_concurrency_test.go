package e2e

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// postAll POSTs every body to url with headers, at most inFlight at a
// time, and returns the answers in order. It fails the test (from the
// test's goroutine) when a request gets no answer.
func postAll(t testing.TB, url string, bodies []any, inFlight int, headers ...string) []apptest.Response {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: inFlight}}
	defer client.CloseIdleConnections()
	out := make([]apptest.Response, len(bodies))
	errs := make([]error, len(bodies))
	sem := make(chan struct{}, inFlight)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, body := range bodies {
		wg.Go(func() {
			<-start
			sem <- struct{}{}
			defer func() { <-sem }()
			req, err := apptest.NewRequest(http.MethodPost, url, body, headers...)
			if err != nil {
				errs[i] = err
				return
			}
			if out[i], err = apptest.Send(client, req); err != nil {
				errs[i] = fmt.Errorf("request %d: %w", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return out
}

// race places n orders of one unit of sku from accountID at once, as the
// customer as, at most eight in flight, and returns the paid ones and the
// reasons of the others.
func (s shop) race(t testing.TB, as []string, n int, accountID, sku string) (paid []order, reasons map[string]int) {
	t.Helper()
	bodies := make([]any, n)
	for i := range bodies {
		bodies[i] = orderRequest(accountID, line{SKU: sku, Quantity: 1})
	}
	reasons = map[string]int{}
	seen := map[string]bool{}
	for _, r := range postAll(t, s.ord+"/v1/orders", bodies, 8, as...) {
		o := checkOrder(t, r, http.StatusCreated, accountID)
		if seen[o.ID] {
			t.Fatalf("two requests answered order %s", o.ID)
		}
		seen[o.ID] = true
		switch o.Status {
		case "paid":
			paid = append(paid, o)
		case "rejected":
			reasons[o.reason()]++
		default:
			t.Fatalf("order %s answered %s, want paid or rejected: %s", o.ID, o.Status, describe(o))
		}
	}
	return paid, reasons
}

// expectOrders fails unless accountID has exactly n orders, none placed, and
// the paid ones are exactly paid, as the person as sees them.
func (s shop) expectOrders(t testing.TB, as []string, accountID string, n int, paid []order) {
	t.Helper()
	list := s.orders(t, as, accountID)
	if len(list) != n {
		t.Fatalf("account %s has %d orders, want %d", accountID, len(list), n)
	}
	isPaid := map[string]bool{}
	for _, o := range paid {
		isPaid[o.ID] = true
	}
	for _, o := range list {
		switch {
		case o.Status == "placed":
			t.Fatalf("order %s stays placed: %s", o.ID, describe(o))
		case isPaid[o.ID] != (o.Status == "paid"):
			t.Fatalf("order %s is listed %s, but it was answered %v paid", o.ID, o.Status, isPaid[o.ID])
		}
	}
}

// shopConcurrencySuite: orders racing for the last units of a product, and
// orders racing for the last money of an account, through the binary. Stock is
// never oversold, a balance never goes below zero, and afterwards the stock,
// the balance, the ledger and the orders agree. Each race is a customer of
// its own ordering from their own account, 30 orders at most eight at a
// time: within one person's rate limit.
func shopConcurrencySuite(t *testing.T, sys system) {
	s := shopOn(t, sys)
	const n = 30

	// 30 orders for the last 6 units, from an account that can pay them all.
	scarce := "LAST-" + randomHex(3)
	s.createProduct(t, scarce, "The last ones", 700, "")
	s.receive(t, scarce, 6, 6)
	rita := person(t, sys, "rita", identity.Customer)
	rich := s.openAccount(t, rita, "Rita Rich", "", 1_000_000)
	paid, reasons := s.race(t, rita, n, rich.ID, scarce)
	if len(paid) != 6 || reasons["out_of_stock"] != n-6 || len(reasons) != 1 {
		t.Fatalf("%d orders for the last 6 units: %d paid, rejections %v; want 6 paid and %d out_of_stock", n, len(paid), reasons, n-6)
	}
	s.expectStock(t, scarce, 6, 6)
	debited := map[string]int64{}
	for _, o := range paid {
		expectPaid(t, o, "USD", []line{{SKU: scarce, Quantity: 1}}, map[string]int64{scarce: 700})
		debited[o.ID] = o.Total
	}
	s.expectLedger(t, rita, rich.ID, 1_000_000-6*700, debited, map[string]int64{})
	s.expectOrders(t, rita, rich.ID, n, paid)

	// 30 orders from an account that can pay exactly 4 of them.
	plenty := "MANY-" + randomHex(3)
	s.createProduct(t, plenty, "Plenty of them", 2500, "")
	s.receive(t, plenty, 100, 100)
	tom := person(t, sys, "tom", identity.Customer)
	tight := s.openAccount(t, tom, "Tom Tight", "", 4*2500)
	paid, reasons = s.race(t, tom, n, tight.ID, plenty)
	if len(paid) != 4 || reasons["insufficient_funds"] != n-4 || len(reasons) != 1 {
		t.Fatalf("%d orders from an account that can pay 4: %d paid, rejections %v; want 4 paid and %d insufficient_funds",
			n, len(paid), reasons, n-4)
	}
	s.expectStock(t, plenty, 100, 4)
	debited = map[string]int64{}
	for _, o := range paid {
		expectPaid(t, o, "USD", []line{{SKU: plenty, Quantity: 1}}, map[string]int64{plenty: 2500})
		debited[o.ID] = o.Total
	}
	s.expectLedger(t, tom, tight.ID, 0, debited, map[string]int64{})
	s.expectOrders(t, tom, tight.ID, n, paid)
	// The first batch is unchanged by the second.
	s.expectStock(t, scarce, 6, 6)

	// A cancellation by the customer racing the dispatch of the same order by
	// staff: exactly one wins. The stock is either shipped or released, never
	// both; the order is either shipped and paid for, or cancelled and
	// refunded.
	contested := "RACE-" + randomHex(3)
	s.createProduct(t, contested, "Contested", 900, "")
	s.receive(t, contested, 10, 10)
	bea := person(t, sys, "bea", identity.Customer)
	buyer := s.openAccount(t, bea, "Bea Buyer", "", 100_000)
	const rounds = 6
	debited, refunded := map[string]int64{}, map[string]int64{}
	shippedUnits := int64(0)
	for range rounds {
		o := s.place(t, bea, buyer.ID, []line{{SKU: contested, Quantity: 1}})
		expectPaid(t, o, "USD", []line{{SKU: contested, Quantity: 1}}, map[string]int64{contested: 900})
		debited[o.ID] = o.Total
		sh := s.waitShipment(t, o.ID, "picking")
		rs := postEach(t,
			post{url: s.ord + "/v1/orders/" + o.ID + "/cancel", headers: bea},
			post{url: s.wh + "/v1/shipments/" + sh.ID + "/dispatch", headers: s.staff})
		cancelled, dispatched := rs[0], rs[1]
		switch {
		case cancelled.Status == http.StatusOK && dispatched.Status == http.StatusConflict:
			expectProblem(t, dispatched, http.StatusConflict, "")
			if c := checkOrder(t, cancelled, http.StatusOK, buyer.ID); c.Status != "cancelled" {
				t.Fatalf("cancel answered 200 with order %s", describe(c))
			}
			refunded[o.ID] = o.Total
			s.waitShipment(t, o.ID, "cancelled")
		case dispatched.Status == http.StatusOK && cancelled.Status == http.StatusConflict:
			expectProblem(t, cancelled, http.StatusConflict, "not_cancellable")
			s.waitOrder(t, bea, o.ID, eventually, "shipped", func(o order) bool { return o.Status == "shipped" })
			shippedUnits++
		default:
			t.Fatalf("cancel and dispatch of order %s at once: cancel %d %s, dispatch %d %s; want exactly one 200 and one 409",
				o.ID, cancelled.Status, cancelled.Body, dispatched.Status, dispatched.Body)
		}
	}
	t.Logf("cancel vs dispatch: %d of %d orders shipped", shippedUnits, rounds)
	s.expectStock(t, contested, 10-shippedUnits, 0)
	s.expectLedger(t, bea, buyer.ID, 100_000-900*shippedUnits, debited, refunded)
}

// post is a POST with no body that postEach sends, with its headers.
type post struct {
	url     string
	headers []string
}

// postEach sends every POST at once and returns the answers in order.
func postEach(t testing.TB, posts ...post) []apptest.Response {
	t.Helper()
	out := make([]apptest.Response, len(posts))
	errs := make([]error, len(posts))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, p := range posts {
		wg.Go(func() {
			<-start
			req, err := apptest.NewRequest(http.MethodPost, p.url, nil, append([]string{"Content-Type", "application/json"}, p.headers...)...)
			if err != nil {
				errs[i] = err
				return
			}
			out[i], errs[i] = apptest.Send(http.DefaultClient, req)
		})
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		var urls []string
		for _, p := range posts {
			urls = append(urls, p.url)
		}
		t.Fatalf("POST %v: %v", urls, err)
	}
	return out
}
