package orders_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	ordersgw "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/idempotency"
)

// An Idempotency-Key makes placing an order safe to retry: the same key and
// body get the same order and one saga (one reservation, one debit), however
// many ask at once; the same key with another body is refused.
func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})

	t.Run("a retry gets the same order and no second effect", func(t *testing.T) {
		t.Parallel()
		a, b := w.newProduct(t, 100, "USD", 10), w.newProduct(t, 250, "USD", 10)
		account := w.newAccount(t, "USD", 10_000)
		key := unique("key")
		first := w.place(t, account, []line{{a, 2}, {b, 1}}, idempotency.Header, key).Expect(t, http.StatusCreated)
		var o ordersgw.Order
		first.Decode(t, &o)
		if o.Status != ordersgw.StatusPaid || first.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("first answer = %+v (%v), want a paid order, not replayed", o, first.Header)
		}
		// The same request, its lines in another order: the same order.
		for _, lines := range [][]line{{{a, 2}, {b, 1}}, {{b, 1}, {a, 2}}} {
			again := w.place(t, account, lines, idempotency.Header, key).Expect(t, http.StatusCreated)
			var got ordersgw.Order
			again.Decode(t, &got)
			if got.ID != o.ID || got.Status != o.Status || got.Total != o.Total || again.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("retry = %+v (%v), want order %s replayed", got, again.Header, o.ID)
			}
		}
		w.wantCharged(t, account, o.ID, 450)
		if n := len(w.transactions(t, account)); n != 2 {
			t.Errorf("%d transactions, want the deposit and one debit", n)
		}
		w.wantStock(t, a, 10, 2)
		w.wantStock(t, b, 10, 1)

		// Another body with the key: refused, and nothing happens.
		for _, lines := range [][]line{{{a, 3}, {b, 1}}, {{a, 2}}} {
			w.place(t, account, lines, idempotency.Header, key).ExpectProblem(t, http.StatusUnprocessableEntity, "idempotency_key_reused")
		}
		other := w.openAccount(t, account.owner, "USD", 10_000)
		w.place(t, other, []line{{a, 2}, {b, 1}}, idempotency.Header, key).ExpectProblem(t, http.StatusUnprocessableEntity, "idempotency_key_reused")
		w.wantStock(t, a, 10, 2)
		if n := len(w.transactions(t, other)); n != 1 {
			t.Errorf("the other account has %d transactions, want its deposit only", n)
		}

		// Without a key, the same body is a new order.
		if again := w.placed(t, account, line{a, 2}, line{b, 1}); again.ID == o.ID {
			t.Error("an order without a key replayed a keyed one")
		}
	})

	// A key is its customer's: another customer who happens to send the same
	// key places an order of their own, and learns nothing of the first.
	t.Run("another customer's key is none of theirs", func(t *testing.T) {
		t.Parallel()
		sku := w.newProduct(t, 100, "USD", 10)
		ada := w.newAccount(t, "USD", 10_000)
		key := unique("key")
		var first ordersgw.Order
		w.place(t, ada, []line{{sku, 1}}, idempotency.Header, key).Expect(t, http.StatusCreated).Decode(t, &first)
		// The same request, and another one, each of another customer.
		for _, quantity := range []int64{1, 2} {
			other := w.newAccount(t, "USD", 10_000)
			res := w.place(t, other, []line{{sku, quantity}}, idempotency.Header, key).Expect(t, http.StatusCreated)
			var o ordersgw.Order
			res.Decode(t, &o)
			if o.ID == first.ID || o.Customer != other.owner.subject || o.Status != ordersgw.StatusPaid ||
				res.Header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("another customer's order with ada's key = %+v (%v), want a paid order of their own", o, res.Header)
			}
			w.wantCharged(t, other, o.ID, quantity*100)
		}
		w.wantCharged(t, ada, first.ID, 100)
		w.wantStock(t, sku, 10, 4)
	})

	t.Run("a rejected order is replayed rejected", func(t *testing.T) {
		t.Parallel()
		sku := w.newProduct(t, 100, "USD", 10)
		account := w.newAccount(t, "USD", 50)
		key := unique("key")
		var first, again ordersgw.Order
		w.place(t, account, []line{{sku, 1}}, idempotency.Header, key).Expect(t, http.StatusCreated).Decode(t, &first)
		wantRejected(t, first, ordersgw.RejectInsufficientFunds)
		w.deposit(t, account, 1000)
		w.place(t, account, []line{{sku, 1}}, idempotency.Header, key).Expect(t, http.StatusCreated).Decode(t, &again)
		if again.ID != first.ID {
			t.Fatalf("retry placed order %s, want %s again", again.ID, first.ID)
		}
		wantRejected(t, again, ordersgw.RejectInsufficientFunds)
		w.wantCharged(t, account, first.ID, 0)
	})

	t.Run("twenty at once make one order", func(t *testing.T) {
		t.Parallel()
		sku := w.newProduct(t, 100, "USD", 100)
		account := w.newAccount(t, "USD", 10_000)
		key := unique("key")
		const n = 20
		ids := make([]uuid.UUID, n)
		statuses := make([]string, n)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				res := w.place(t, account, []line{{sku, 3}}, idempotency.Header, key)
				if res.Status != http.StatusCreated {
					t.Errorf("request %d: %d %s", i, res.Status, res.Body)
					return
				}
				var o ordersgw.Order
				res.Decode(t, &o)
				ids[i], statuses[i] = o.ID, o.Status
			})
		}
		close(start)
		wg.Wait()
		for i := range n {
			if ids[i] != ids[0] {
				t.Fatalf("request %d got order %s, request 0 got %s", i, ids[i], ids[0])
			}
		}
		o := w.awaitStatus(t, ids[0], ordersgw.StatusPaid, 5*time.Second)
		w.wantCharged(t, account, o.ID, 300)
		w.wantStock(t, sku, 100, 3)
		if list := w.ordersOf(t, account.ID, account.owner.header); len(list) != 1 {
			t.Errorf("the account has %d orders, want 1", len(list))
		}
		if placed := strings.Count(strings.Join(statuses, ","), ordersgw.StatusPlaced); placed != 0 {
			t.Logf("%d answers still placed: their wait for the first request's saga ran out", placed)
		}
	})
}
