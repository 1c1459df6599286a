package accounts_test

import (
	"bytes"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	gateway "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/gateway/accounts/events"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/idempotency"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/mail"
)

func TestAPI(t *testing.T) {
	sys := start(t)
	api := apiOf(t, sys)

	t.Run("an account opens empty and active, in USD by default, owned by who opens it", func(t *testing.T) {
		asGrace := api.as(t, grace, identity.Customer)
		res := apptest.Do(t, http.MethodPost, api.base, map[string]string{
			"owner_name": "Grace Hopper", "email": "grace@example.com", "referral_code": "IM-7",
		}, asGrace...).Expect(t, http.StatusCreated)
		var opened gateway.Account
		res.Decode(t, &opened)
		if opened.ID == uuid.Nil || opened.Owner != grace || opened.OwnerName != "Grace Hopper" || opened.Email != "grace@example.com" ||
			opened.Currency != "USD" || opened.Balance != 0 || opened.Status != "active" || opened.ReferralCode != "IM-7" {
			t.Fatalf("opened %+v", opened)
		}
		if opened.CreatedAt.IsZero() || opened.CreatedAt.Location() != time.UTC {
			t.Errorf("created_at %v, want a UTC time", opened.CreatedAt)
		}
		var got gateway.Account
		apptest.Do(t, http.MethodGet, api.account(opened.ID), nil, asGrace...).Expect(t, http.StatusOK).Decode(t, &got)
		if got != opened {
			t.Errorf("GET = %+v, want %+v", got, opened)
		}
		// Every field of the contract is on the wire, in snake case.
		body := res.JSON(t)
		for _, f := range []string{"id", "owner", "owner_name", "email", "currency", "balance", "status", "referral_code", "created_at"} {
			if _, ok := body[f]; !ok {
				t.Errorf("the account has no %q: %s", f, res.Body)
			}
		}
	})

	t.Run("deposits and withdrawals move the balance; the ledger lists them newest first", func(t *testing.T) {
		id := api.open(t, "EUR").ID
		var dep gateway.Transaction
		apptest.Do(t, http.MethodPost, api.account(id)+"/deposits", map[string]int64{"amount": 1000}, api.owner...).
			Expect(t, http.StatusCreated).Decode(t, &dep)
		if dep.Kind != gateway.KindDeposit || dep.Amount != 1000 || dep.BalanceAfter != 1000 || dep.AccountID != id {
			t.Fatalf("deposit = %+v", dep)
		}
		var wd gateway.Transaction
		apptest.Do(t, http.MethodPost, api.account(id)+"/withdrawals", map[string]int64{"amount": 300}, api.owner...).
			Expect(t, http.StatusCreated).Decode(t, &wd)
		if wd.Kind != gateway.KindWithdrawal || wd.Amount != 300 || wd.BalanceAfter != 700 {
			t.Fatalf("withdrawal = %+v", wd)
		}
		apptest.Do(t, http.MethodPost, api.account(id)+"/withdrawals", map[string]int64{"amount": 701}, api.owner...).
			ExpectProblem(t, http.StatusConflict, "insufficient_funds")
		apptest.Do(t, http.MethodPost, api.account(id)+"/deposits", map[string]int64{"amount": 5}, api.owner...).Expect(t, http.StatusCreated)

		if got := api.get(t, id).Balance; got != 705 {
			t.Fatalf("balance %d, want 705", got)
		}
		list := api.transactions(t, id)
		var after []int64
		for _, tx := range list {
			after = append(after, tx.BalanceAfter)
		}
		if want := []int64{705, 700, 1000}; !slices.Equal(after, want) {
			t.Fatalf("balances after, newest first = %v, want %v", after, want)
		}
		if list[1].ID != wd.ID || list[2].ID != dep.ID {
			t.Errorf("the ledger %+v does not hold the transactions that were answered", list)
		}
		wantLedger(t, api, id)
	})

	t.Run("the owner gets an email for each deposit and withdrawal, and the mailer has it", func(t *testing.T) {
		acc := api.open(t, "USD")
		api.fund(t, acc.ID, 500)
		apptest.Do(t, http.MethodPost, api.account(acc.ID)+"/withdrawals", map[string]int64{"amount": 200}, api.owner...).Expect(t, http.StatusCreated)

		var list struct{ Items []mail.Notification }
		apptest.Eventually(t, 5*time.Second, "both emails recorded", func() bool {
			apptest.Do(t, http.MethodGet, api.account(acc.ID)+"/notifications", nil, api.owner...).Expect(t, http.StatusOK).Decode(t, &list)
			if len(list.Items) != 2 {
				return false
			}
			for _, n := range list.Items {
				if n.Status != mail.StatusRecorded { // the test mailer records, never sends
					return false
				}
			}
			return true
		})
		if list.Items[0].Subject != "Withdrawal confirmed" || list.Items[1].Subject != "Deposit received" {
			t.Errorf("subjects, newest first: %q, %q", list.Items[0].Subject, list.Items[1].Subject)
		}
		for _, n := range list.Items {
			if n.To != acc.Email || n.ID == uuid.Nil || n.CreatedAt.IsZero() {
				t.Errorf("notification %+v, want one to %s", n, acc.Email)
			}
		}
		sent := 0
		for _, m := range sys.Mail.Sent() {
			if m.To == acc.Email && bytes.Contains([]byte(m.Body), []byte(acc.ID.String())) {
				sent++
			}
		}
		if sent != 2 {
			t.Errorf("the mail sender got %d emails about %s, want 2", sent, acc.ID)
		}
	})

	t.Run("an Idempotency-Key replays the first answer and refuses another body", func(t *testing.T) {
		id := api.open(t, "USD").ID
		deposit := func(amount int64, key string) apptest.Response {
			return apptest.Do(t, http.MethodPost, api.account(id)+"/deposits", map[string]int64{"amount": amount}, api.with(idempotency.Header, key)...)
		}
		first := deposit(500, "dep-1").Expect(t, http.StatusCreated)
		again := deposit(500, "dep-1").Expect(t, http.StatusCreated)
		if !bytes.Equal(first.Body, again.Body) {
			t.Fatalf("replay answered %s, first answer was %s", again.Body, first.Body)
		}
		if again.Header.Get("Idempotent-Replayed") != "true" {
			t.Error("a replayed answer does not say so")
		}
		deposit(501, "dep-1").ExpectProblem(t, http.StatusUnprocessableEntity, "idempotency_key_reused")

		withdraw := func(amount int64, key string) apptest.Response {
			return apptest.Do(t, http.MethodPost, api.account(id)+"/withdrawals", map[string]int64{"amount": amount}, api.with(idempotency.Header, key)...)
		}
		// A key is scoped to its operation and account: the deposit's key is free here.
		w := withdraw(200, "dep-1").Expect(t, http.StatusCreated)
		if !bytes.Equal(withdraw(200, "dep-1").Expect(t, http.StatusCreated).Body, w.Body) {
			t.Fatal("a replayed withdrawal answered differently")
		}
		// A refused request leaves its key free for the retry that succeeds.
		withdraw(10_000, "wd-2").ExpectProblem(t, http.StatusConflict, "insufficient_funds")
		withdraw(300, "wd-2").Expect(t, http.StatusCreated)

		if got := api.get(t, id).Balance; got != 0 {
			t.Fatalf("balance %d, want 500 - 200 - 300 = 0", got)
		}
		if n := len(api.transactions(t, id)); n != 3 {
			t.Fatalf("%d transactions, want 3", n)
		}
		var emails struct{ Items []mail.Notification }
		apptest.Do(t, http.MethodGet, api.account(id)+"/notifications", nil, api.owner...).Expect(t, http.StatusOK).Decode(t, &emails)
		if len(emails.Items) != 3 {
			t.Fatalf("%d emails, want one per movement: 3", len(emails.Items))
		}
		wantLedger(t, api, id)
	})

	t.Run("a balance that would overflow is refused", func(t *testing.T) {
		id := api.open(t, "USD").ID
		if err := sys.Schema(t, gateway.Name).Exec(`UPDATE accounts SET balance = ? WHERE id = ?`, int64(math.MaxInt64-10), id).Error; err != nil {
			t.Fatal(err)
		}
		apptest.Do(t, http.MethodPost, api.account(id)+"/deposits", map[string]int64{"amount": 11}, api.owner...).
			ExpectProblem(t, http.StatusUnprocessableEntity, "balance_limit")
		var tx gateway.Transaction
		apptest.Do(t, http.MethodPost, api.account(id)+"/deposits", map[string]int64{"amount": 10}, api.owner...).
			Expect(t, http.StatusCreated).Decode(t, &tx)
		if tx.BalanceAfter != math.MaxInt64 {
			t.Fatalf("balance after %d, want %d", tx.BalanceAfter, int64(math.MaxInt64))
		}
	})
}

func TestEvents(t *testing.T) {
	sys := start(t)
	api := apiOf(t, sys)
	topics := sys.Subscribe(t, events.All...)

	res := apptest.Do(t, http.MethodPost, api.base, map[string]string{
		"owner_name": "Ada Lovelace", "email": "ada@example.com", "currency": "EUR", "referral_code": "IM-42",
	}, api.with(correlation.Header, "req-open")...).Expect(t, http.StatusCreated)
	var acc gateway.Account
	res.Decode(t, &acc)

	var created events.AccountCreated
	apptest.Receive(t, topics[events.TopicAccountCreated], "req-open", &created)
	if created.AccountID != acc.ID || created.ReferralCode != "IM-42" || created.Currency != "EUR" || created.Email != acc.Email {
		t.Errorf("account_created = %+v", created)
	}

	var dep gateway.Transaction
	apptest.Do(t, http.MethodPost, api.account(acc.ID)+"/deposits", map[string]int64{"amount": 1200},
		api.with(correlation.Header, "req-deposit")...).Expect(t, http.StatusCreated).Decode(t, &dep)
	// One deposit, written once, is published on both versions of the topic:
	// v2 as written, then v1 as the events package converts it.
	var depositedV2 events.FundsDepositedV2
	apptest.Receive(t, topics[events.TopicFundsDepositedV2], "req-deposit", &depositedV2)
	if depositedV2.TransactionID != dep.ID || depositedV2.Amount != (events.Money{Amount: 1200, Currency: "EUR"}) ||
		depositedV2.BalanceAfter != (events.Money{Amount: 1200, Currency: "EUR"}) {
		t.Errorf("funds_deposited.v2 = %+v", depositedV2)
	}
	var deposited events.FundsDeposited
	apptest.Receive(t, topics[events.TopicFundsDeposited], "req-deposit", &deposited)
	want := events.Movement{TransactionID: dep.ID, AccountID: acc.ID, Amount: 1200, Currency: "EUR", BalanceAfter: 1200, OccurredAt: dep.CreatedAt}
	if !deposited.OccurredAt.Equal(want.OccurredAt) {
		t.Errorf("funds_deposited occurred at %v, want %v", deposited.OccurredAt, want.OccurredAt)
	}
	deposited.OccurredAt = want.OccurredAt
	if deposited.Movement != want {
		t.Errorf("funds_deposited = %+v, want %+v", deposited.Movement, want)
	}

	apptest.Do(t, http.MethodPost, api.account(acc.ID)+"/withdrawals", map[string]int64{"amount": 200},
		api.with(correlation.Header, "req-withdraw")...).Expect(t, http.StatusCreated)
	var withdrawn events.FundsWithdrawn
	apptest.Receive(t, topics[events.TopicFundsWithdrawn], "req-withdraw", &withdrawn)
	if withdrawn.Amount != 200 || withdrawn.BalanceAfter != 1000 || withdrawn.AccountID != acc.ID {
		t.Errorf("funds_withdrawn = %+v", withdrawn)
	}

	accounts := apptest.Local(t, sys, gateway.Gateway)
	m := gateway.Movement{AccountID: acc.ID, Amount: 300, Currency: "EUR", Reference: "order-1"}
	debitCtx := correlation.With(t.Context(), "req-debit")
	if _, err := accounts.Debit(debitCtx, m); err != nil {
		t.Fatal(err)
	}
	var debited events.AccountDebited
	apptest.Receive(t, topics[events.TopicAccountDebited], "req-debit", &debited)
	if debited.Reference != "order-1" || debited.Amount != 300 || debited.BalanceAfter != 700 {
		t.Errorf("account_debited = %+v", debited)
	}
	// A replayed debit is no new movement and tells nobody of one.
	if _, err := accounts.Debit(debitCtx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := accounts.Credit(correlation.With(t.Context(), "req-credit"), m); err != nil {
		t.Fatal(err)
	}
	var credited events.AccountCredited
	apptest.Receive(t, topics[events.TopicAccountCredited], "req-credit", &credited)
	if credited.Reference != "order-1" || credited.Amount != 300 || credited.BalanceAfter != 1000 {
		t.Errorf("account_credited = %+v", credited)
	}
	select {
	case msg := <-topics[events.TopicAccountDebited]:
		msg.Ack()
		t.Errorf("a replayed debit published %s", msg.Payload)
	case <-time.After(100 * time.Millisecond):
	}
}
