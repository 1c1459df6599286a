package accounts_test

import (
	"testing"

	"github.com/google/uuid"

	gateway "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/gateway/accounts/contracttest"
	"github.com/uberservice/uberservice/platform/apptest"
)

// TestContract holds the local implementation and the HTTP client, talking to
// the module's real server binding, to the same suite.
func TestContract(t *testing.T) {
	sys := start(t)
	api := apiOf(t, sys)
	newAccount := func(t *testing.T, currency string, balance int64) uuid.UUID {
		t.Helper()
		id := api.open(t, currency).ID
		api.fund(t, id, balance)
		return id
	}

	apptest.EachImplementation(t, sys, gateway.Gateway, func(t *testing.T, impl gateway.Accounts) {
		contracttest.Run(t, func(*testing.T) contracttest.Subject {
			return contracttest.Subject{Accounts: impl, NewAccount: newAccount, Owner: ada}
		})
	})
}
