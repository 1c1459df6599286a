package accounts_test

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"testing"

	"github.com/google/uuid"

	gateway "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/platform/apptest"
)

// TestConcurrentWithdrawals races more withdrawals than the balance can pay:
// exactly as many succeed as it allows, the rest are refused, and the balance
// never goes below zero.
func TestConcurrentWithdrawals(t *testing.T) {
	sys := start(t)
	api := apiOf(t, sys)
	const (
		funds    = 1000
		amount   = 30
		requests = 60
		payable  = funds / amount // 33, leaving 10
	)

	t.Run("over HTTP", func(t *testing.T) {
		id := api.open(t, "USD").ID
		api.fund(t, id, funds)
		statuses := apptest.Race(requests, func(int) int {
			return api.status(api.account(id)+"/withdrawals", fmt.Sprintf(`{"amount":%d}`, amount))
		})
		counts := map[int]int{}
		for _, s := range statuses {
			counts[s]++
		}
		if counts[http.StatusCreated] != payable || counts[http.StatusConflict] != requests-payable {
			t.Fatalf("statuses %v, want %d × 201 and %d × 409", counts, payable, requests-payable)
		}
		wantSettled(t, api, id, funds-payable*amount, payable)
	})

	t.Run("through the gateway", func(t *testing.T) {
		accounts := apptest.Local(t, sys, gateway.Gateway)
		id := api.open(t, "USD").ID
		api.fund(t, id, funds)
		errs := apptest.Race(requests, func(i int) error {
			_, err := accounts.Debit(t.Context(), gateway.Movement{AccountID: id, Amount: amount, Currency: "USD", Reference: fmt.Sprint("order-", i)})
			return err
		})
		refused := 0
		for _, err := range errs {
			switch {
			case err == nil:
			case errors.Is(err, gateway.ErrInsufficientFunds):
				refused++
			default:
				t.Fatalf("Debit: %v", err)
			}
		}
		if refused != requests-payable {
			t.Fatalf("%d debits refused, want %d", refused, requests-payable)
		}
		wantSettled(t, api, id, funds-payable*amount, payable)
	})
}

// status is the status of a POST of body to url as Ada, or 0 when it got
// no answer: it may run on a goroutine of apptest.Race, which must not fail
// the test.
func (a api) status(url, body string) int {
	req, err := apptest.NewRequest(http.MethodPost, url, body, a.owner...)
	if err != nil {
		return 0
	}
	res, err := apptest.Send(http.DefaultClient, req)
	if err != nil {
		return 0
	}
	return res.Status
}

// wantSettled checks the balance, the number of movements out and the ledger.
func wantSettled(t *testing.T, a api, id uuid.UUID, balance int64, outs int) {
	t.Helper()
	if got := a.get(t, id).Balance; got != balance {
		t.Fatalf("balance %d, want %d", got, balance)
	}
	n := 0
	for _, tx := range a.transactions(t, id) {
		if tx.BalanceAfter < 0 {
			t.Fatalf("transaction %+v left a negative balance", tx)
		}
		if tx.Kind == gateway.KindWithdrawal || tx.Kind == gateway.KindDebit {
			n++
		}
	}
	if n != outs {
		t.Fatalf("%d movements out, want %d", n, outs)
	}
	wantLedger(t, a, id)
}

// TestConcurrentDeposits races deposits without a key, which commit in
// groups, into a few accounts, among them deposits no group may take: into
// Grace's account (not the caller's), into an account that does not exist,
// and over the balance limit. Each is answered as it would be alone: every
// good one 201 and in its account's ledger once, with its email; every bad
// one refused, leaving nothing.
func TestConcurrentDeposits(t *testing.T) {
	sys := start(t)
	api := apiOf(t, sys)
	const perAccount = 40
	ids := []uuid.UUID{api.open(t, "USD").ID, api.open(t, "USD").ID, api.open(t, "EUR").ID}
	db := sys.Schema(t, gateway.Name)
	full := api.open(t, "USD").ID
	if err := db.Exec(`UPDATE accounts SET balance = ? WHERE id = ?`, int64(math.MaxInt64), full).Error; err != nil {
		t.Fatal(err)
	}
	graces := api.openGraces(t).ID
	type deposit struct {
		id     uuid.UUID
		amount int64
		want   int
	}
	var deposits []deposit
	for i := range perAccount {
		for _, id := range ids {
			deposits = append(deposits, deposit{id, int64(i + 1), http.StatusCreated})
		}
		if i%8 == 0 {
			deposits = append(deposits, deposit{graces, 5, http.StatusNotFound}, deposit{uuid.New(), 5, http.StatusNotFound},
				deposit{full, 1, http.StatusUnprocessableEntity})
		}
	}
	statuses := apptest.Race(len(deposits), func(i int) int {
		d := deposits[i]
		return api.status(api.account(d.id)+"/deposits", fmt.Sprintf(`{"amount":%d}`, d.amount))
	})
	for i, s := range statuses {
		if s != deposits[i].want {
			t.Errorf("deposit %+v: %d", deposits[i], s)
		}
	}
	const sum = perAccount * (perAccount + 1) / 2
	for _, id := range ids {
		if got := api.get(t, id).Balance; got != sum {
			t.Errorf("account %s: balance %d, want %d", id, got, sum)
		}
		if n := len(api.transactions(t, id)); n != perAccount {
			t.Errorf("account %s: %d movements, want %d", id, n, perAccount)
		}
		wantLedger(t, api, id)
	}
	var ledger, emails int
	if err := db.Raw(`SELECT (SELECT count(*) FROM transactions WHERE account_id IN ?), (SELECT count(*) FROM notifications WHERE owner_ref IN ?)`,
		ids, []string{ids[0].String(), ids[1].String(), ids[2].String()}).Row().Scan(&ledger, &emails); err != nil {
		t.Fatal(err)
	}
	if want := perAccount * len(ids); ledger != want || emails != want {
		t.Errorf("%d ledger rows and %d emails for the good deposits, want %d of each", ledger, emails, want)
	}
	if got := api.get(t, full).Balance; got != math.MaxInt64 {
		t.Errorf("the full account's balance %d, want %d", got, int64(math.MaxInt64))
	}
}
