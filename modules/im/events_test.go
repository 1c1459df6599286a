package im_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/uberservice/uberservice/gateway/accounts/events"
	imgw "github.com/uberservice/uberservice/gateway/im"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/correlation"
)

// A deposit delivered twice under one message id, or once more under another
// id (a relay that crashed between publishing and deleting), pays one
// commission and sends one email.
func TestRedeliveredDepositPaysOnce(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	m := w.newManager(t, "Ada Manager", 250)
	account := w.openAccount(t, "Bob Owner", "bob@owners.example", "")
	w.link(t, m.ID, account.ID).Expect(t, http.StatusCreated)

	payload, txID := depositPayload(t, account.ID, 10000)
	messageID := uuid.NewString()
	w.Deliver(t, events.TopicFundsDepositedV2, messageID, payload)
	w.Deliver(t, events.TopicFundsDepositedV2, messageID, payload)
	w.Deliver(t, events.TopicFundsDepositedV2, uuid.NewString(), payload)

	l := w.commissions(t, m)
	if len(l.Items) != 1 || l.Items[0].TransactionID != txID || l.Items[0].Amount != 250 || l.Total != 250 {
		t.Errorf("commissions = %+v, want one of 250 on %s", l, txID)
	}
	if n := len(w.managerMail(t, m).Items); n != 1 {
		t.Errorf("manager emails = %d, want 1", n)
	}
	if dls := w.DeadLetters(t, imgw.Name); len(dls) != 0 {
		t.Errorf("a duplicate deposit is no failure, yet: %+v", dls)
	}
}

// An account_created event links the account to the manager of its referral
// code, once. A code that matches nobody, or an account someone already linked
// by hand, leaves things as they are and is not a failure to retry; an event
// that names no account is.
func TestAccountCreatedLinksByReferralCode(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	ada := w.newManager(t, "Ada Manager", 150)
	grace := w.newManager(t, "Grace Manager", 100)
	created := func(accountID uuid.UUID, code string) []byte {
		payload, err := json.Marshal(events.AccountCreated{AccountID: accountID, OwnerName: "Owner", Email: "owner@owners.example",
			Currency: "USD", ReferralCode: code, CreatedAt: time.Now().UTC()})
		if err != nil {
			t.Fatal(err)
		}
		return payload
	}

	referred, messageID := uuid.New(), uuid.NewString()
	w.Deliver(t, events.TopicAccountCreated, messageID, created(referred, ada.ReferralCode))
	w.Deliver(t, events.TopicAccountCreated, messageID, created(referred, ada.ReferralCode))
	w.Deliver(t, events.TopicAccountCreated, uuid.NewString(), created(referred, ada.ReferralCode))
	if m := w.managerOf(t, referred); m == nil || m.ID != ada.ID {
		t.Errorf("manager of the referred account = %+v, want Ada", m)
	}

	stranger, uncoded := uuid.New(), uuid.New()
	w.Deliver(t, events.TopicAccountCreated, uuid.NewString(), created(stranger, "NOBODY-"+ada.ReferralCode))
	w.Deliver(t, events.TopicAccountCreated, uuid.NewString(), created(uncoded, ""))
	for _, id := range []uuid.UUID{stranger, uncoded} {
		if m := w.managerOf(t, id); m != nil {
			t.Errorf("account %s got manager %+v", id, m)
		}
	}

	taken := w.openAccount(t, "Bob Owner", "bob@owners.example", "")
	w.link(t, grace.ID, taken.ID).Expect(t, http.StatusCreated)
	w.Deliver(t, events.TopicAccountCreated, uuid.NewString(), created(taken.ID, ada.ReferralCode))
	if m := w.managerOf(t, taken.ID); m == nil || m.ID != grace.ID {
		t.Errorf("manager of the account linked by hand = %+v, want Grace still", m)
	}
	if dls := w.DeadLetters(t, imgw.Name); len(dls) != 0 {
		t.Errorf("dead letters = %+v, want none", dls)
	}
	if s := w.summary(t, ada); len(s.Accounts) != 0 {
		// The referred account is unknown to accounts (it exists only in the
		// event), so the summary leaves it out; Ada has no other.
		t.Errorf("Ada's summary = %+v", s.Accounts)
	}

	anonymous := uuid.NewString()
	w.Deliver(t, events.TopicAccountCreated, anonymous, created(uuid.Nil, ada.ReferralCode))
	if dl := w.DeadLetter(t, imgw.Name, anonymous); dl.Status != "dead" {
		t.Errorf("dead letter of an event without an account = %+v", dl)
	}
}

// The commission is floor(amount * bps / 10000) exactly, up to the largest
// amounts, where the product no longer fits in an int64.
func TestCommissionIsRoundedDownWithoutOverflow(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	amounts := []int64{1, 999, 10000, 123456789, 1_000_000_000_000_000, 999_999_999_999_999}
	for _, bps := range []int{0, 1, 150, 9999, 10000} {
		m := w.newManager(t, fmt.Sprintf("Manager at %d bps", bps), bps)
		account := w.openAccount(t, "Owner", "owner@owners.example", "")
		w.link(t, m.ID, account.ID).Expect(t, http.StatusCreated)
		want := map[uuid.UUID]int64{}
		for _, amount := range amounts {
			payload, txID := depositPayload(t, account.ID, amount)
			w.Deliver(t, events.TopicFundsDepositedV2, uuid.NewString(), payload)
			exact := new(big.Int).Mul(big.NewInt(amount), big.NewInt(int64(bps)))
			want[txID] = exact.Div(exact, big.NewInt(10000)).Int64()
		}
		got := w.commissions(t, m)
		if len(got.Items) != len(amounts) {
			t.Fatalf("%d bps: %d commissions, want %d", bps, len(got.Items), len(amounts))
		}
		for _, c := range got.Items {
			if c.Amount != want[c.TransactionID] {
				t.Errorf("%d bps: commission on %s = %d, want %d", bps, c.TransactionID, c.Amount, want[c.TransactionID])
			}
		}
	}
}

// A message no handler can apply becomes a dead letter, and the messages after
// it are still handled. A handler that fails for a reason that may pass is
// retried, then kept as a dead letter an operator can replay once it is fixed.
func TestFailingMessagesBecomeDeadLetters(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	m := w.newManager(t, "Ada Manager", 100)
	account := w.openAccount(t, "Bob Owner", "bob@owners.example", "")
	w.link(t, m.ID, account.ID).Expect(t, http.StatusCreated)

	t.Log("a payload that does not decode is dead at once; the next message goes through")
	poison := uuid.NewString()
	w.Deliver(t, events.TopicFundsDepositedV2, poison, []byte(`{"transaction_id": 42`))
	payload, _ := depositPayload(t, account.ID, 10000)
	w.Deliver(t, events.TopicFundsDepositedV2, uuid.NewString(), payload)
	if l := w.commissions(t, m); len(l.Items) != 1 || l.Total != 100 {
		t.Errorf("commissions after the poison message = %+v, want the next deposit's", l)
	}
	dl := w.DeadLetter(t, imgw.Name, poison)
	if dl.Status != "dead" || dl.Handler != "im."+events.TopicFundsDeposited || dl.Topic != events.TopicFundsDepositedV2 || dl.LastError == "" {
		t.Errorf("dead letter = %+v", dl)
	}

	t.Log("a handler failing on a missing table is retried, then dead, then replayed by hand")
	exec(t, w.DB, "ALTER TABLE im.commissions RENAME TO commissions_offline")
	payload, txID := depositPayload(t, account.ID, 20000)
	failing := uuid.NewString()
	w.Deliver(t, events.TopicFundsDepositedV2, failing, payload)
	apptest.Eventually(t, 10*time.Second, "the failing message is dead after its retries", func() bool {
		dl := w.DeadLetter(t, imgw.Name, failing)
		return dl.Status == "dead"
	})
	if dl := w.DeadLetter(t, imgw.Name, failing); dl.Attempts != 3 {
		t.Errorf("dead letter = %+v, want 3 attempts", dl)
	}
	exec(t, w.DB, "ALTER TABLE im.commissions_offline RENAME TO commissions")
	apptest.Do(t, http.MethodPost, w.InternalURL("im")+(fmt.Sprintf("/ops/dead-letters/%d/replay", w.DeadLetter(t, imgw.Name, failing).ID)), nil, w.Operator(t)...).
		Expect(t, http.StatusOK)
	l := w.commissions(t, m)
	if len(l.Items) != 2 || l.Items[0].TransactionID != txID || l.Total != 300 {
		t.Errorf("commissions after the replay = %+v", l)
	}
	if n := len(w.managerMail(t, m).Items); n != 2 {
		t.Errorf("manager emails = %d, want 2", n)
	}
	if dl := w.DeadLetter(t, imgw.Name, failing); dl.ID != 0 {
		t.Errorf("replayed message is still a dead letter: %+v", dl)
	}
}

func exec(t testing.TB, dbURL, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// The X-Request-Id of the deposit request reaches im's handler, through the
// accounts outbox and the bus, and is on im's log lines about it.
func TestCorrelationIDReachesIMHandlers(t *testing.T) {
	t.Parallel()
	logs := &capture{}
	w := start(t, app.Config{Log: slog.New(slog.NewMultiHandler(correlation.Handler(logs), apptest.Logger(t).Handler()))})
	m := w.newManager(t, "Ada Manager", 100)
	account := w.openAccount(t, "Bob Owner", "bob@owners.example", m.ReferralCode)
	apptest.Eventually(t, 5*time.Second, "the account is linked", func() bool { return w.managerOf(t, account.ID) != nil })

	requestID := "deposit-" + uuid.NewString()
	tx := w.deposit(t, account, 5000, correlation.Header, requestID)
	apptest.Eventually(t, 5*time.Second, "im logs the commission with the request's correlation id", func() bool {
		return logs.has(func(r record) bool {
			return r.attrs["module"] == "im" && r.msg == "commission recorded" &&
				r.attrs["transaction_id"] == tx.ID.String() && r.attrs[correlation.MetadataKey] == requestID
		})
	})
}

// capture is a slog.Handler that keeps records, for tests to search.
type capture struct {
	mu      sync.Mutex
	records []record
	attrs   []slog.Attr // of a handler derived by WithAttrs
	root    *capture
}

type record struct {
	msg   string
	attrs map[string]string
}

func (c *capture) store() *capture {
	if c.root != nil {
		return c.root
	}
	return c
}

func (c *capture) Enabled(context.Context, slog.Level) bool { return true }

func (c *capture) Handle(_ context.Context, r slog.Record) error {
	rec := record{msg: r.Message, attrs: map[string]string{}}
	for _, a := range c.attrs {
		rec.attrs[a.Key] = a.Value.String()
	}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	s := c.store()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = append(s.records, rec)
	return nil
}

func (c *capture) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &capture{root: c.store(), attrs: append(append([]slog.Attr(nil), c.attrs...), attrs...)}
}

func (c *capture) WithGroup(string) slog.Handler { return c }

func (c *capture) has(match func(record) bool) bool {
	s := c.store()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.records {
		if match(r) {
			return true
		}
	}
	return false
}
