package portal_test

import (
	"testing"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// TestPublicAPIRefusesBadInput runs every public route of the portal through
// the platform's bad-input suite.
func TestPublicAPIRefusesBadInput(t *testing.T) {
	t.Parallel()
	sys := apptest.Start(t, modules(), app.Config{})
	bob := customer(t, sys, "bob")
	account := createAccount(t, sys, bob, map[string]any{"owner_name": "Bob Buyer", "email": "bob@example.com"})
	sys.RefusesBadInput(t, "portal",
		apptest.Example{Method: "GET", URL: sys.URL("portal") + "/v1/portal/accounts/" + account["id"].(string), Header: bob})
}

// TestPublicAPIRefusesStrangers holds every public route of the portal to
// its rule: an account's view is for its owner and for staff.
func TestPublicAPIRefusesStrangers(t *testing.T) {
	t.Parallel()
	sys := apptest.Start(t, modules(), app.Config{})
	bob, carol := customer(t, sys, "bob"), customer(t, sys, "carol")
	bobs := createAccount(t, sys, bob, map[string]any{"owner_name": "Bob Buyer", "email": "bob@example.com"})
	carols := createAccount(t, sys, carol, map[string]any{"owner_name": "Carol Cash", "email": "carol@example.com"})
	view := sys.URL("portal") + "/v1/portal/accounts/"
	sys.RefusesStrangers(t, "portal", apptest.Access{
		Method: "GET", URL: view + bobs["id"].(string), Roles: []identity.Role{identity.Customer, identity.Staff},
		Owner: bob, Foreign: view + carols["id"].(string),
	})
}
