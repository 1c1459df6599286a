package portal_test

import (
	"testing"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
)

// TestPublicAPIRefusesBadInput runs every public route of the portal through
// the platform's bad-input suite.
func TestPublicAPIRefusesBadInput(t *testing.T) {
	t.Parallel()
	sys := apptest.Start(t, modules(), app.Config{})
	account := createAccount(t, sys, map[string]any{"owner_name": "Bob Buyer", "email": "bob@example.com"})
	sys.RefusesBadInput(t, "portal",
		apptest.Example{Method: "GET", URL: sys.URL("portal") + "/v1/portal/accounts/" + account["id"].(string)})
}
