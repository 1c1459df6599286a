package orders_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	ordersgw "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
)

// A saga that keeps failing on an outage is retried with growing spacing,
// not at every pass of the recovery: each attempt is recorded on the order
// with the time before which the recovery leaves it alone, no attempt comes
// before that time, and the delays grow. The ops route counts it meanwhile.
// Once accounts is back, the saga completes and its attempts are forgotten.
func TestRecoveryBacksOff(t *testing.T) {
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
	orders := w.Schema(t, ordersgw.Name)
	type attempt struct {
		n       int
		seen    time.Time // the database's clock when first seen
		next    time.Time // next_attempt_at
		delayed time.Duration
	}
	var seen []attempt
	deadline := time.Now().Add(recoveryTimeout)
	for len(seen) == 0 || seen[len(seen)-1].n < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("attempts seen %+v, want 3 within %s", seen, recoveryTimeout)
		}
		var row struct {
			Attempts      int
			NextAttemptAt *time.Time
			Now           time.Time
		}
		if err := orders.Raw(`SELECT attempts, next_attempt_at, now() AS now FROM orders WHERE id = ?`, o.ID).
			Scan(&row).Error; err != nil {
			t.Fatal(err)
		}
		if n := len(seen); row.Attempts > 0 && (n == 0 || row.Attempts != seen[n-1].n) {
			if row.NextAttemptAt == nil {
				t.Fatalf("attempt %d of order %s has no next_attempt_at", row.Attempts, o.ID)
			}
			seen = append(seen, attempt{n: row.Attempts, seen: row.Now, next: *row.NextAttemptAt,
				delayed: row.NextAttemptAt.Sub(row.Now)})
		}
		time.Sleep(25 * time.Millisecond)
	}
	if seen[0].n != 1 {
		t.Errorf("attempts seen %+v, want the first one, Place's, recorded too", seen)
	}
	for i := 1; i < len(seen); i++ {
		prev, cur := seen[i-1], seen[i]
		if cur.n != prev.n+1 {
			t.Errorf("attempts went from %d to %d", prev.n, cur.n)
		}
		// Seen after it happened, so an attempt seen before the time the
		// previous one set was certainly too early.
		if cur.seen.Before(prev.next) {
			t.Errorf("attempt %d came at %v, before %v, the time attempt %d set", cur.n, cur.seen, prev.next, prev.n)
		}
		if cur.delayed < prev.delayed*3/2 {
			t.Errorf("attempt %d waits %s, attempt %d %s: want the spacing to grow", cur.n, cur.delayed, prev.n, prev.delayed)
		}
	}
	if got := opsCount(t, w, "sagas_retrying"); got != 1 {
		t.Errorf("sagas_retrying %d, want 1", got)
	}

	a.restartAccounts(t)
	w.awaitStatus(t, o.ID, ordersgw.StatusPaid, recoveryTimeout)
	w.wantCharged(t, account, o.ID, 1400)
	w.wantStock(t, sku, 10, 2)
	wantSagaOver(t, w, o.ID)
	if got := opsCount(t, w, "sagas_retrying"); got != 0 {
		t.Errorf("sagas_retrying %d once the saga is done, want 0", got)
	}
}

// opsCount is the orders module's count of name, as GET /ops/counts says.
func opsCount(t testing.TB, w world, name string) int64 {
	t.Helper()
	var counts map[string]map[string]int64
	apptest.Do(t, http.MethodGet, w.InternalURL(ordersgw.Name)+"/ops/counts", nil, w.Operator(t)...).Expect(t, http.StatusOK).Decode(t, &counts)
	got, ok := counts[ordersgw.Name][name]
	if !ok {
		t.Fatalf("GET /ops/counts = %v, without %s", counts, name)
	}
	return got
}

// wantSagaOver fails t unless the saga of order id is done, holds no lease
// and waits for no attempt: nothing is left for the recovery to take up.
func wantSagaOver(t testing.TB, w world, id uuid.UUID) {
	t.Helper()
	var left int
	if err := w.Schema(t, ordersgw.Name).Raw(`SELECT count(*) FROM orders WHERE id = ? AND (saga_step <> 'done'
		OR lease_token IS NOT NULL OR attempts <> 0 OR next_attempt_at IS NOT NULL)`, id).Row().Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Fatalf("order %s has a saga left for the recovery", id)
	}
}
