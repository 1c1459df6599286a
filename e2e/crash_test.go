package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uberservice/uberservice/internal/cluster"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// crashed is how long a saga may take to finish after a restart: the dead
// process's lease (10s) must expire, then the recovery (every 2s) resumes it.
const crashed = 40 * time.Second

// postExpectingDeath POSTs body to url on a connection of its own and fails
// the test unless the request gets no answer: the server dies handling it.
func postExpectingDeath(t testing.TB, url string, body any, headers ...string) {
	t.Helper()
	req, err := apptest.NewRequest(http.MethodPost, url, body, headers...)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err == nil {
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("POST %s answered %d %s, want no answer: the process dies at its failpoint", url, resp.StatusCode, answer)
	}
}

// expectDeath fails unless p exits by itself with status 137 at failpoint.
func expectDeath(t testing.TB, p *cluster.Process, failpoint string) {
	t.Helper()
	code, ok := p.Wait(20 * time.Second)
	if !ok {
		t.Fatalf("uberservice did not die at failpoint %s within 20s", failpoint)
	}
	if code != 137 {
		t.Fatalf("uberservice exited %d at failpoint %s, want 137\noutput:\n%s", code, failpoint, tail(p.Logs()))
	}
	if msg := "failpoint " + failpoint + ": exiting"; !strings.Contains(p.Logs(), msg) {
		t.Fatalf("the output does not say %q:\n%s", msg, tail(p.Logs()))
	}
}

// TestSagaSurvivesACrash: the process dies (exit 137, as if killed -9) at each
// failpoint of the order saga; started again on the same database, it
// finishes the saga. A paid order is debited once, a rejected one not at all,
// a cancelled one refunded once, and only paid orders keep stock reserved.
func TestSagaSurvivesACrash(t *testing.T) {
	t.Parallel()
	const (
		price   = 1500
		units   = 2
		total   = price * units
		stock   = 10
		rich    = 100000
		tooPoor = 1000 // less than total: the debit is refused
	)
	cases := []struct {
		failpoint string
		funds     int64
		cancel    bool   // the failpoint is in a cancellation of a paid order
		want      string // the status the order ends in
	}{
		{failpoint: "orders.saga.after_reserve", funds: rich, want: "paid"},
		{failpoint: "orders.saga.after_reserve_saved", funds: rich, want: "paid"},
		{failpoint: "orders.saga.after_debit", funds: rich, want: "paid"},
		{failpoint: "orders.saga.after_debit", funds: tooPoor, want: "rejected"},
		{failpoint: "orders.saga.before_release", funds: tooPoor, want: "rejected"},
		{failpoint: "orders.saga.after_release", funds: tooPoor, want: "rejected"},
		{failpoint: "orders.saga.after_cancel_release", funds: rich, cancel: true, want: "cancelled"},
		{failpoint: "orders.saga.after_refund", funds: rich, cancel: true, want: "cancelled"},
	}
	for _, c := range cases {
		name := strings.TrimPrefix(c.failpoint, "orders.saga.") + "-" + c.want
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			db := apptest.FreshDatabase(t)
			s := startShop(t, db, "UBERSERVICE_FAILPOINTS="+c.failpoint+"=exit")
			sku := "CRASH-" + randomHex(3)
			s.createProduct(t, sku, "Crash test dummy", price, "")
			s.receive(t, sku, stock, stock)
			carl := person(t, s.sys, "carl-crash", identity.Customer)
			a := s.openAccount(t, carl, "Carl Crash", "", c.funds)
			lines := []line{{SKU: sku, Quantity: units}}
			key := "crash-" + randomHex(8)

			var id string
			if c.cancel {
				o := s.place(t, carl, a.ID, lines)
				expectPaid(t, o, "USD", lines, map[string]int64{sku: price})
				s.waitShipment(t, o.ID, "picking")
				id = o.ID
				postExpectingDeath(t, s.ord+"/v1/orders/"+id+"/cancel", nil, carl...)
			} else {
				postExpectingDeath(t, s.ord+"/v1/orders", orderRequest(a.ID, lines...), append([]string{"Idempotency-Key", key}, carl...)...)
			}
			expectDeath(t, s.p, c.failpoint)

			// Again, on the same database, without the failpoint.
			s = startShop(t, db)
			if !c.cancel {
				// The retry with the same key learns the order and starts no
				// second saga.
				r := apptest.Do(t, http.MethodPost, s.ord+"/v1/orders", orderRequest(a.ID, lines...),
					append([]string{"Idempotency-Key", key}, carl...)...)
				o := checkOrder(t, r, http.StatusCreated, a.ID)
				if r.Header.Get("Idempotent-Replayed") != "true" {
					t.Fatalf("the retry after the crash is not a replay (no Idempotent-Replayed): %s", r.Body)
				}
				id = o.ID
			}
			o := s.waitOrder(t, carl, id, crashed, "the end of the saga", func(o order) bool {
				return o.Status != "placed" && (!c.cancel || o.Status != "paid")
			})
			if list := s.orders(t, carl, a.ID); len(list) != 1 || list[0].ID != id {
				t.Fatalf("the account has orders %s, want only %s", describe(list), id)
			}

			switch c.want {
			case "paid":
				expectPaid(t, o, "USD", lines, map[string]int64{sku: price})
				s.expectLedger(t, carl, a.ID, c.funds-total, map[string]int64{id: total}, map[string]int64{})
				s.expectStock(t, sku, stock, units)
				s.waitShipment(t, id, "picking")
			case "rejected":
				expectRejected(t, o, "insufficient_funds")
				s.expectLedger(t, carl, a.ID, c.funds, map[string]int64{}, map[string]int64{})
				s.expectStock(t, sku, stock, 0)
				if list := s.shipments(t, id); len(list) != 0 {
					t.Fatalf("rejected order %s has shipments %s", id, describe(list))
				}
			case "cancelled":
				if o.Status != "cancelled" || o.Total != total {
					t.Fatalf("order %s after the crash: %s, want cancelled with total %d", id, describe(o), total)
				}
				s.expectLedger(t, carl, a.ID, c.funds, map[string]int64{id: total}, map[string]int64{id: total})
				s.expectStock(t, sku, stock, 0)
				s.waitShipment(t, id, "cancelled")
			}
		})
	}
}
