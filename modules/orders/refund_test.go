package orders_test

import (
	"context"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	accountsgw "github.com/uberservice/uberservice/gateway/accounts"
	ordersgw "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/gateway/orders/events"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
)

// Another module that takes an order's id as the reference of a credit of its
// own (im's here) does not stop the order's refund: a reference belongs to the
// module that gives it.
func TestAnotherModulesReferenceDoesNotStopARefund(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	sku := w.newProduct(t, 700, "USD", 10)
	account := w.newAccount(t, "USD", 5000)
	o := w.placed(t, account, line{sku, 2})
	asIM := accountsgw.Gateway.Local(apptest.Local(t, w.System, accountsgw.Gateway), "im")
	if _, err := asIM.Credit(t.Context(), accountsgw.Movement{
		AccountID: account.ID, Amount: 1, Currency: "USD", Reference: o.ID.String(),
	}); err != nil {
		t.Fatalf("im's credit with the order's id: %v", err)
	}
	w.cancel(t, account.owner, o.ID).Expect(t, http.StatusOK)
	if got := w.order(t, o.ID); got.Status != ordersgw.StatusCancelled {
		t.Fatalf("order %s, want cancelled", got.Status)
	}
	if got := w.balance(t, account); got != 5000+1 {
		t.Fatalf("balance %d, want the refund back and im's credit: %d", got, 5000+1)
	}
}

// A cancellation whose refund accounts refuses for good ends the order in
// refund_failed, with the refusal's code and words on it: the stock is back in
// the warehouse (it was released before the refund, and the shipment was
// cancelled with it), no refund was made, no order_cancelled is published, a
// second cancellation is a 409 that says why, the saga is over so the recovery
// leaves it alone, and the ops route counts it.
func TestRefundRefused(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	seen := observe(t, w, events.TopicOrderCancelled)
	refusals := []struct {
		name string
		code string
		// refuse makes accounts refuse the refund of o, paid from account.
		refuse func(t *testing.T, a account, o ordersgw.Order)
	}{
		// Only orders itself can take its own reference (a bug in orders, or
		// data from before references had owners): another module's credit
		// with it is a credit of its own (TestAnotherModulesReferenceDoesNotStopARefund).
		{"a credit of orders' with the order's reference and another amount", ordersgw.RefundReferenceConflict,
			func(t *testing.T, a account, o ordersgw.Order) {
				acc := accountsgw.Gateway.Local(apptest.Local(t, w.System, accountsgw.Gateway), ordersgw.Name)
				if _, err := acc.Credit(t.Context(), accountsgw.Movement{
					AccountID: a.ID, Amount: 1, Currency: "USD", Reference: o.ID.String(),
				}); err != nil {
					t.Fatalf("the conflicting credit: %v", err)
				}
			}},
		{"a balance at its limit", ordersgw.RefundBalanceLimit,
			func(t *testing.T, a account, _ ordersgw.Order) {
				// As the accounts module's own tests reach the limit: no API
				// deposits 9e18 in fewer than thousands of deposits.
				if err := w.Schema(t, accountsgw.Name).Exec(`UPDATE accounts SET balance = ? WHERE id = ?`,
					int64(math.MaxInt64), a.ID).Error; err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			sku := w.newProduct(t, 700, "USD", 10)
			account := w.newAccount(t, "USD", 5000)
			o := w.placed(t, account, line{sku, 2})
			w.shipmentOf(t, o.ID, "picking")
			r.refuse(t, account, o)

			p := w.cancel(t, account.owner, o.ID).ExpectProblem(t, http.StatusConflict, "refund_failed")
			if detail, _ := p["detail"].(string); !strings.Contains(detail, r.code) {
				t.Errorf("the cancellation's problem says %q, want it to name %s", detail, r.code)
			}
			got := w.order(t, o.ID)
			wantRefundFailed(t, got, r.code)
			if got.Total != 1400 || !got.UpdatedAt.After(o.UpdatedAt) {
				t.Errorf("order = %+v, want its total of 1400 and a later update than %v", got, o.UpdatedAt)
			}
			w.wantStock(t, sku, 10, 0)
			w.shipmentOf(t, o.ID, "cancelled")
			for _, c := range w.movements(t, account, accountsgw.KindCredit, o.ID) {
				if c.Amount == 1400 {
					t.Errorf("a refused refund was made: %+v", c)
				}
			}

			again := w.cancel(t, account.owner, o.ID).ExpectProblem(t, http.StatusConflict, "refund_failed")
			if again["detail"] != p["detail"] {
				t.Errorf("a second cancellation says %q, the first %q", again["detail"], p["detail"])
			}
			wantSagaOver(t, w, o.ID)
		})
	}
	time.Sleep(100 * time.Millisecond) // room for an order_cancelled to show
	if n := count(seen, events.TopicOrderCancelled, func(events.OrderCancelled) bool { return true }); n != 0 {
		t.Errorf("%d order_cancelled events for orders that were not refunded", n)
	}
	if got := opsCount(t, w, "refund_failed"); got != int64(len(refusals)) {
		t.Errorf("refund_failed %d, want %d", got, len(refusals))
	}
}

// A refusal that comes to light in the recovery, after a cancellation was
// accepted while accounts was down, ends the same way, and is logged at ERROR
// once: the recovery does not take the order up again.
func TestRefundRefusedInRecovery(t *testing.T) {
	t.Parallel()
	logs := &recorder{}
	a := startApart(t, app.Config{Log: logs.logger(t)})
	w, accounts := a.world, a.accounts

	sku := w.newProduct(t, 700, "USD", 10)
	account := w.newAccount(t, "USD", 5000)
	o := w.placed(t, account, line{sku, 2})
	w.shipmentOf(t, o.ID, "picking")
	if _, err := accountsgw.Gateway.Local(apptest.Local(t, accounts, accountsgw.Gateway), ordersgw.Name).Credit(t.Context(), accountsgw.Movement{
		AccountID: account.ID, Amount: 1, Currency: "USD", Reference: o.ID.String(),
	}); err != nil {
		t.Fatalf("the conflicting credit: %v", err)
	}
	a.stopAccounts(t)
	var accepted ordersgw.Order
	w.cancel(t, account.owner, o.ID).Expect(t, http.StatusAccepted).Decode(t, &accepted)
	if accepted.Status != ordersgw.StatusPaid || accepted.RefundError != nil {
		t.Fatalf("order whose refund waits for accounts = %+v, want it still paid", accepted)
	}
	w.wantStock(t, sku, 10, 0)
	a.restartAccounts(t)

	got := w.awaitStatus(t, o.ID, ordersgw.StatusRefundFailed, recoveryTimeout)
	wantRefundFailed(t, got, ordersgw.RefundReferenceConflict)
	w.cancel(t, account.owner, o.ID).ExpectProblem(t, http.StatusConflict, "refund_failed")
	wantSagaOver(t, w, o.ID)

	time.Sleep(5 * time.Second) // two passes of the recovery and more
	if errs := logs.errorsAbout(o.ID); len(errs) != 1 || !strings.Contains(errs[0], "refund") {
		t.Errorf("ERROR logs about order %s: %q, want the refusal once", o.ID, errs)
	}
}

// wantRefundFailed fails t unless o is refund_failed for code, with words.
func wantRefundFailed(t testing.TB, o ordersgw.Order, code string) {
	t.Helper()
	if o.Status != ordersgw.StatusRefundFailed || o.RefundError == nil || o.RefundError.Code != code ||
		o.RefundError.Detail == "" || o.RejectReason != nil {
		t.Fatalf("order = %+v (refund error %+v), want refund_failed for %s, with a detail", o, o.RefundError, code)
	}
}

// recorder keeps the warnings and errors a system logs, beside the test's
// log, for tests of what is logged how often.
type recorder struct {
	mu      sync.Mutex
	records []logged
}

type logged struct {
	level slog.Level
	text  string            // the message and its attributes
	attrs map[string]string // by key
}

// logger is a logger that records into r and writes to t's log.
func (r *recorder) logger(t testing.TB) *slog.Logger {
	return slog.New(recording{next: apptest.Logger(t).Handler(), rec: r})
}

// errorsAbout returns the records at ERROR or above whose order_id is id.
func (r *recorder) errorsAbout(id uuid.UUID) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, l := range r.records {
		if l.level >= slog.LevelError && l.attrs["order_id"] == id.String() {
			out = append(out, l.text)
		}
	}
	return out
}

type recording struct {
	next  slog.Handler
	rec   *recorder
	attrs []slog.Attr
}

func (h recording) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || h.next.Enabled(ctx, l)
}

func (h recording) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		l := logged{level: r.Level, text: r.Message, attrs: map[string]string{}}
		add := func(a slog.Attr) bool {
			l.attrs[a.Key] = a.Value.String()
			l.text += " " + a.String()
			return true
		}
		for _, a := range h.attrs {
			add(a)
		}
		r.Attrs(add)
		h.rec.mu.Lock()
		h.rec.records = append(h.rec.records, l)
		h.rec.mu.Unlock()
	}
	if !h.next.Enabled(ctx, r.Level) {
		return nil
	}
	return h.next.Handle(ctx, r)
}

func (h recording) WithAttrs(attrs []slog.Attr) slog.Handler {
	return recording{next: h.next.WithAttrs(attrs), rec: h.rec, attrs: append(h.attrs[:len(h.attrs):len(h.attrs)], attrs...)}
}

func (h recording) WithGroup(name string) slog.Handler {
	return recording{next: h.next.WithGroup(name), rec: h.rec, attrs: h.attrs}
}
