package accounts_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/uuid"

	gateway "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/modules/accounts"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/idempotency"
	"github.com/uberservice/uberservice/platform/identity"
)

// TestPublicAPIRefusesStrangers holds every public route to its rule: who
// has no token is 401, a role the route does not admit 403, and the owner
// asking for Grace's account 404.
func TestPublicAPIRefusesStrangers(t *testing.T) {
	sys := start(t)
	api := apiOf(t, sys)
	acc := api.open(t, "USD")
	api.fund(t, acc.ID, 1000)
	theirs := api.openGraces(t)
	customer := []identity.Role{identity.Customer}
	readers := []identity.Role{identity.Customer, identity.Staff}
	rule := func(method, path, body string, roles []identity.Role) apptest.Access {
		return apptest.Access{Method: method, URL: api.account(acc.ID) + path, Body: body, Roles: roles,
			Owner: api.owner, Foreign: api.account(theirs.ID) + path}
	}
	sys.RefusesStrangers(t, gateway.Name,
		apptest.Access{Method: "POST", URL: api.base, Body: `{"owner_name":"Ada Lovelace","email":"ada@example.com"}`,
			Roles: customer, Owner: api.owner},
		rule("GET", "", "", readers),
		rule("POST", "/deposits", `{"amount":100}`, customer),
		rule("POST", "/withdrawals", `{"amount":100}`, customer),
		rule("GET", "/transactions", "", readers),
		rule("GET", "/notifications", "", readers),
	)
}

// Someone else's account is no account at all to a customer: reading it,
// its ledger or its emails, or moving its money, is the 404 of an unknown
// account, and nothing moves.
func TestSomeoneElsesAccountIsNotFound(t *testing.T) {
	sys := start(t)
	api := apiOf(t, sys)
	acc := api.open(t, "USD")
	api.fund(t, acc.ID, 1000)
	asGrace := api.as(t, grace, identity.Customer)
	for _, path := range []string{"", "/transactions", "/notifications"} {
		apptest.Do(t, http.MethodGet, api.account(acc.ID)+path, nil, asGrace...).
			ExpectProblem(t, http.StatusNotFound, "account_not_found")
	}
	for _, path := range []string{"/deposits", "/withdrawals"} {
		apptest.Do(t, http.MethodPost, api.account(acc.ID)+path, map[string]int64{"amount": 1}, asGrace...).
			ExpectProblem(t, http.StatusNotFound, "account_not_found")
	}
	unknown := uuid.New()
	want := apptest.Do(t, http.MethodGet, api.account(unknown), nil, api.owner...).ExpectProblem(t, http.StatusNotFound, "account_not_found")
	got := apptest.Do(t, http.MethodGet, api.account(acc.ID), nil, asGrace...).ExpectProblem(t, http.StatusNotFound, "account_not_found")
	if got["title"] != want["title"] || got["detail"] != "no account "+acc.ID.String() || want["detail"] != "no account "+unknown.String() {
		t.Errorf("Grace asking for Ada's account: %v; an unknown account: %v; want the same problem", got, want)
	}
	if b := api.get(t, acc.ID).Balance; b != 1000 {
		t.Errorf("balance %d after Grace's attempts, want 1000", b)
	}
}

// An Idempotency-Key replays its answer only to the account's owner: Grace,
// sending the key of Ada's deposit to Ada's account, gets 404, not Ada's
// transaction.
func TestAKeyReplaysNothingToAStranger(t *testing.T) {
	sys := start(t)
	api := apiOf(t, sys)
	acc := api.open(t, "USD")
	url := api.account(acc.ID) + "/deposits"
	apptest.Do(t, http.MethodPost, url, map[string]int64{"amount": 500}, api.with(idempotency.Header, "ada-1")...).
		Expect(t, http.StatusCreated)
	asGrace := append(api.as(t, grace, identity.Customer), idempotency.Header, "ada-1")
	res := apptest.Do(t, http.MethodPost, url, map[string]int64{"amount": 500}, asGrace...)
	res.ExpectProblem(t, http.StatusNotFound, "account_not_found")
	if res.Header.Get(idempotency.ReplayedHeader) != "" {
		t.Errorf("a stranger got a replayed answer: %s", res.Body)
	}
}

// Staff read any account, its ledger and its emails, for support work, and
// never move money: 403 on their roles, and 404 on someone else's account
// when they are a customer too, as for any customer.
func TestStaffReadAndMoveNoMoney(t *testing.T) {
	sys := start(t)
	api := apiOf(t, sys)
	acc := api.open(t, "USD")
	api.fund(t, acc.ID, 1000)
	staff := api.staff(t)
	var got gateway.Account
	apptest.Do(t, http.MethodGet, api.account(acc.ID), nil, staff...).Expect(t, http.StatusOK).Decode(t, &got)
	if got.ID != acc.ID || got.Owner != ada || got.Balance != 1000 {
		t.Errorf("staff read %+v, want Ada's account with 1000", got)
	}
	if txs := apptest.Items[gateway.Transaction](t, api.account(acc.ID)+"/transactions", staff...); len(txs) != 1 {
		t.Errorf("staff read %d transactions, want 1", len(txs))
	}
	apptest.Do(t, http.MethodGet, api.account(acc.ID)+"/notifications", nil, staff...).Expect(t, http.StatusOK)

	both := api.as(t, "sam-who-banks-here", identity.Staff, identity.Customer)
	for _, path := range []string{"/deposits", "/withdrawals"} {
		apptest.Do(t, http.MethodPost, api.account(acc.ID)+path, map[string]int64{"amount": 1}, staff...).
			ExpectProblem(t, http.StatusForbidden, "forbidden")
		apptest.Do(t, http.MethodPost, api.account(acc.ID)+path, map[string]int64{"amount": 1}, both...).
			ExpectProblem(t, http.StatusNotFound, "account_not_found")
	}
	apptest.Do(t, http.MethodPost, api.base, map[string]string{"owner_name": "Sam", "email": "sam@example.com"}, staff...).
		ExpectProblem(t, http.StatusForbidden, "forbidden")
	if b := api.get(t, acc.ID).Balance; b != 1000 {
		t.Errorf("balance %d after staff's attempts, want 1000", b)
	}
}

// An account opened before people had tokens has no owner: it is nobody's,
// so staff alone see it.
func TestAnAccountWithNoOwnerIsStaffsAlone(t *testing.T) {
	sys := start(t)
	api := apiOf(t, sys)
	acc := api.open(t, "USD")
	if err := sys.Schema(t, gateway.Name).Exec(`UPDATE accounts SET owner = '' WHERE id = ?`, acc.ID).Error; err != nil {
		t.Fatal(err)
	}
	apptest.Do(t, http.MethodGet, api.account(acc.ID), nil, api.owner...).ExpectProblem(t, http.StatusNotFound, "account_not_found")
	apptest.Do(t, http.MethodPost, api.account(acc.ID)+"/deposits", map[string]int64{"amount": 1}, api.owner...).
		ExpectProblem(t, http.StatusNotFound, "account_not_found")
	var got gateway.Account
	apptest.Do(t, http.MethodGet, api.account(acc.ID), nil, api.staff(t)...).Expect(t, http.StatusOK).Decode(t, &got)
	if got.Owner != "" {
		t.Errorf("owner %q, want none", got.Owner)
	}
}

// A module in another process calling the gateway for a person carries the
// person with the call, and accounts holds them to the rules there: here a
// teller module, which uses the gateway, runs in a system of its own.
func TestAGatewayCallFromAnotherProcessIsHeldToThePersonsRules(t *testing.T) {
	var remote gateway.Accounts
	teller := app.Module{Name: "teller", Uses: app.Deps(gateway.Gateway), Init: func(_ context.Context, env *app.Env) (err error) {
		remote, err = app.Resolve(env, gateway.Gateway)
		return err
	}}
	all := []app.Module{accounts.Module(), teller}
	sys := apptest.Start(t, all, app.Config{Modules: []string{gateway.Name}})
	apptest.Start(t, all, app.Config{Modules: []string{"teller"}, Peers: map[string]string{gateway.Name: sys.InternalURL(gateway.Name)}})
	api := apiOf(t, sys)
	acc := api.open(t, "USD")
	api.fund(t, acc.ID, 1000)

	forAda := identity.WithPerson(t.Context(), identity.Person{Subject: ada, Roles: []identity.Role{identity.Customer}})
	forGrace := identity.WithPerson(t.Context(), identity.Person{Subject: grace, Roles: []identity.Role{identity.Customer}})
	debit := gateway.Movement{AccountID: acc.ID, Amount: 100, Currency: "USD", Reference: "order-1"}
	if _, err := remote.Get(forGrace, acc.ID); !errors.Is(err, gateway.ErrAccountNotFound) {
		t.Errorf("Get for Grace: %v, want account_not_found", err)
	}
	if got, err := remote.GetMany(forGrace, []uuid.UUID{acc.ID}); err != nil || len(got) != 0 {
		t.Errorf("GetMany for Grace: %v, %v; want nothing", got, err)
	}
	if _, err := remote.Debit(forGrace, debit); !errors.Is(err, gateway.ErrAccountNotFound) {
		t.Errorf("Debit for Grace: %v, want account_not_found", err)
	}
	if _, err := remote.Debit(forAda, debit); err != nil {
		t.Errorf("Debit for Ada: %v", err)
	}
	if _, err := remote.Credit(identity.WithoutPerson(forGrace), debit); err != nil {
		t.Errorf("Credit on the teller's own authority: %v", err)
	}
	if a, err := remote.Get(forAda, acc.ID); err != nil || a.Balance != 1000 {
		t.Errorf("Get for Ada: %+v, %v; want her account with 1000", a, err)
	}
}
