package accounts_test

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	gateway "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/modules/accounts"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// start runs the accounts module alone, for real, against a fresh database.
func start(t *testing.T) *apptest.System {
	t.Helper()
	return apptest.Start(t, []app.Module{accounts.Module()}, app.Config{})
}

// The people of the tests. Ada, a customer, opens the accounts the helpers
// open; Grace is another customer, who must not see them.
const (
	ada   = "ada"
	grace = "grace"
)

// api is the module's public HTTP API as a client sees it. Its helpers act
// as Ada, whose Authorization header is owner.
type api struct {
	sys   *apptest.System
	base  string
	owner []string
}

func apiOf(t *testing.T, sys *apptest.System) api {
	t.Helper()
	return api{sys: sys, base: sys.URL(gateway.Name) + "/v1/accounts", owner: sys.Person(t, ada, identity.Customer)}
}

func (a api) account(id uuid.UUID) string { return fmt.Sprintf("%s/%s", a.base, id) }

// as is the Authorization header of subject with roles.
func (a api) as(t testing.TB, subject string, roles ...identity.Role) []string {
	t.Helper()
	return a.sys.Person(t, subject, roles...)
}

// with is Ada's Authorization header and more pairs of name and value.
func (a api) with(pairs ...string) []string {
	return append(slices.Clone(a.owner), pairs...)
}

// staff is the Authorization header of a member of staff.
func (a api) staff(t testing.TB) []string {
	t.Helper()
	return a.as(t, "sam", identity.Staff)
}

// open opens an account of Ada's in currency and returns it.
func (a api) open(t testing.TB, currency string) gateway.Account {
	t.Helper()
	var acc gateway.Account
	apptest.Do(t, http.MethodPost, a.base, map[string]string{
		"owner_name": "Ada Lovelace", "email": "ada@example.com", "currency": currency,
	}, a.owner...).Expect(t, http.StatusCreated).Decode(t, &acc)
	return acc
}

// openGraces opens an account of Grace's and returns it.
func (a api) openGraces(t testing.TB) gateway.Account {
	t.Helper()
	var acc gateway.Account
	apptest.Do(t, http.MethodPost, a.base, map[string]string{"owner_name": "Grace Hopper", "email": "grace@example.com"},
		a.as(t, grace, identity.Customer)...).Expect(t, http.StatusCreated).Decode(t, &acc)
	return acc
}

// fund deposits amount into Ada's account id, in as many deposits as
// MaxAmount needs.
func (a api) fund(t testing.TB, id uuid.UUID, amount int64) {
	t.Helper()
	for amount > 0 {
		n := min(amount, accounts.MaxAmount)
		apptest.Do(t, http.MethodPost, a.account(id)+"/deposits", map[string]int64{"amount": n}, a.owner...).Expect(t, http.StatusCreated)
		amount -= n
	}
}

// deposit deposits amount into Ada's account id and returns the transaction.
func (a api) deposit(t testing.TB, id uuid.UUID, amount int64) gateway.Transaction {
	t.Helper()
	var tx gateway.Transaction
	apptest.Do(t, http.MethodPost, a.account(id)+"/deposits", map[string]int64{"amount": amount}, a.owner...).
		Expect(t, http.StatusCreated).Decode(t, &tx)
	return tx
}

func (a api) get(t testing.TB, id uuid.UUID) gateway.Account {
	t.Helper()
	var acc gateway.Account
	apptest.Do(t, http.MethodGet, a.account(id), nil, a.owner...).Expect(t, http.StatusOK).Decode(t, &acc)
	return acc
}

// transactions reads the whole ledger of id, every page of it.
func (a api) transactions(t *testing.T, id uuid.UUID) []gateway.Transaction {
	t.Helper()
	return apptest.Items[gateway.Transaction](t, a.account(id)+"/transactions", a.owner...)
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
