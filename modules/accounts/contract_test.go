package accounts_test

import (
	"testing"

	"github.com/google/uuid"

	gateway "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/gateway/accounts/contracttest"
	"github.com/uberservice/uberservice/platform/httpclient"
)

// TestContract holds the local implementation and the HTTP client, talking to
// the module's real server binding, to the same suite.
func TestContract(t *testing.T) {
	sys := start(t)
	api := apiOf(sys)
	newAccount := func(t *testing.T, currency string, balance int64) uuid.UUID {
		t.Helper()
		id := api.open(t, currency).ID
		api.fund(t, id, balance)
		return id
	}

	local, ok := sys.Local(gateway.Name)
	if !ok {
		t.Fatal("the accounts module provides no local gateway")
	}
	impl, ok := local.(gateway.Accounts)
	if !ok {
		t.Fatalf("the local accounts gateway is a %T", local)
	}
	remote := gateway.Gateway.Client(httpclient.New(sys.URL(gateway.Name), httpclient.Options{}))

	for name, impl := range map[string]gateway.Accounts{"local": impl, "http": remote} {
		t.Run(name, func(t *testing.T) {
			contracttest.Run(t, func(*testing.T) contracttest.Subject {
				return contracttest.Subject{Accounts: impl, NewAccount: newAccount}
			})
		})
	}
}
