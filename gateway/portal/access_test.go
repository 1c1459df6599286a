package portal_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// The view of an account is for its owner and for staff: another customer
// gets the 404 of an unknown account, a person of another role 403. accounts
// decides whose account it is, from the person the portal's call carries.
func TestTheAccountViewIsForItsOwnerAndStaff(t *testing.T) {
	t.Parallel()
	sys := apptest.Start(t, modules(), app.Config{})
	createManager(t, sys, "ERIN2024")
	bob := customer(t, sys, "bob")
	account := createAccount(t, sys, bob, map[string]any{
		"owner_name": "Bob Buyer", "email": "bob@example.com", "referral_code": "ERIN2024",
	})
	url := sys.URL("portal") + "/v1/portal/accounts/" + account["id"].(string)

	// Staff see the whole view, the manager im adds included, for support work.
	apptest.Eventually(t, 10*time.Second, "staff to see the account's manager", func() bool {
		view := accountView(t, sys.URL("portal"), staff(t, sys), account["id"])
		sameAccount(t, view["account"], account)
		return view["manager"] != nil
	})
	apptest.Do(t, http.MethodGet, url, nil, customer(t, sys, "carol")...).ExpectProblem(t, http.StatusNotFound, "account_not_found")
	for _, role := range []identity.Role{identity.Manager, identity.Operator} {
		apptest.Do(t, http.MethodGet, url, nil, sys.Person(t, "bob", role)...).ExpectProblem(t, http.StatusForbidden, "forbidden")
	}
}

// Across processes too: the portal reaches accounts over HTTP with the
// person of the request, and accounts holds that person to its rules.
func TestTheAccountViewCarriesThePersonAcrossProcesses(t *testing.T) {
	t.Parallel()
	accountsSys, sys := startSplit(t, deadURL(t), nil)
	bob := customer(t, accountsSys, "bob")
	account := createAccount(t, accountsSys, bob, map[string]any{"owner_name": "Bob Buyer", "email": "bob@example.com"})
	url := sys.URL("portal") + "/v1/portal/accounts/" + account["id"].(string)

	sameAccount(t, accountView(t, sys.URL("portal"), bob, account["id"])["account"], account)
	sameAccount(t, accountView(t, sys.URL("portal"), staff(t, sys), account["id"])["account"], account)
	apptest.Do(t, http.MethodGet, url, nil, customer(t, sys, "carol")...).ExpectProblem(t, http.StatusNotFound, "account_not_found")
}
