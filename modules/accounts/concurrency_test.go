package accounts_test

import (
	"errors"
	"fmt"
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
			req, err := apptest.NewRequest(http.MethodPost, api.account(id)+"/withdrawals", fmt.Sprintf(`{"amount":%d}`, amount), api.owner...)
			if err != nil {
				return 0
			}
			res, err := apptest.Send(http.DefaultClient, req)
			if err != nil {
				return 0
			}
			return res.Status
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
