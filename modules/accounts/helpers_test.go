package accounts_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"

	gateway "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/modules/accounts"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
)

// start runs the accounts module alone, for real, against a fresh database.
func start(t *testing.T) *apptest.System {
	t.Helper()
	return apptest.Start(t, []app.Module{accounts.Module()}, app.Config{})
}

// api is the module's public HTTP API as a client sees it.
type api struct{ base string }

func apiOf(sys *apptest.System) api { return api{base: sys.URL(gateway.Name) + "/v1/accounts"} }

func (a api) account(id uuid.UUID) string { return fmt.Sprintf("%s/%s", a.base, id) }

// open opens an account in currency and returns it.
func (a api) open(t *testing.T, currency string) gateway.Account {
	t.Helper()
	var acc gateway.Account
	apptest.Do(t, http.MethodPost, a.base, map[string]string{
		"owner_name": "Ada Lovelace", "email": "ada@example.com", "currency": currency,
	}).Expect(t, http.StatusCreated).Decode(t, &acc)
	return acc
}

// fund deposits amount into id, in as many deposits as MaxAmount needs.
func (a api) fund(t *testing.T, id uuid.UUID, amount int64) {
	t.Helper()
	for amount > 0 {
		n := min(amount, accounts.MaxAmount)
		apptest.Do(t, http.MethodPost, a.account(id)+"/deposits", map[string]int64{"amount": n}).Expect(t, http.StatusCreated)
		amount -= n
	}
}

func (a api) get(t *testing.T, id uuid.UUID) gateway.Account {
	t.Helper()
	var acc gateway.Account
	apptest.Do(t, http.MethodGet, a.account(id), nil).Expect(t, http.StatusOK).Decode(t, &acc)
	return acc
}

// transactions reads the whole ledger of id, every page of it.
func (a api) transactions(t *testing.T, id uuid.UUID) []gateway.Transaction {
	t.Helper()
	return apptest.Items[gateway.Transaction](t, a.account(id)+"/transactions")
}

// wantLedger checks the invariant that ties the ledger to the balance: the
// signed sum of an account's transactions is its balance.
func wantLedger(t *testing.T, a api, id uuid.UUID) {
	t.Helper()
	var sum int64
	for _, tx := range a.transactions(t, id) {
		switch tx.Kind {
		case gateway.KindDeposit, gateway.KindCredit:
			sum += tx.Amount
		case gateway.KindWithdrawal, gateway.KindDebit:
			sum -= tx.Amount
		default:
			t.Fatalf("transaction %s has kind %q", tx.ID, tx.Kind)
		}
	}
	if balance := a.get(t, id).Balance; sum != balance {
		t.Fatalf("the transactions of %s sum to %d, the balance is %d", id, sum, balance)
	}
}
