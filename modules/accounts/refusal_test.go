package accounts_test

import (
	"testing"

	gateway "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/idempotency"
)

// TestPublicAPIRefusesBadInput runs every public route through the platform's
// bad-input suite: each way of breaking a request is a 4xx problem+json that
// changes nothing.
func TestPublicAPIRefusesBadInput(t *testing.T) {
	sys := start(t)
	api := apiOf(sys)
	acc := api.open(t, "USD")
	api.fund(t, acc.ID, 1000)
	api.fund(t, acc.ID, 500) // two movements and two emails: lists that give a cursor to break
	sys.RefusesBadInput(t, gateway.Name,
		apptest.Example{Method: "POST", URL: api.base,
			Body: `{"owner_name":"Grace Hopper","email":"grace@example.com","currency":"EUR","referral_code":"ADA-1"}`},
		apptest.Example{Method: "GET", URL: api.account(acc.ID)},
		apptest.Example{Method: "POST", URL: api.account(acc.ID) + "/deposits", Body: `{"amount":100}`,
			Header: []string{idempotency.Header, "dep-1"}},
		apptest.Example{Method: "POST", URL: api.account(acc.ID) + "/withdrawals", Body: `{"amount":100}`},
		apptest.Example{Method: "GET", URL: api.account(acc.ID) + "/transactions"},
		apptest.Example{Method: "GET", URL: api.account(acc.ID) + "/notifications"},
	)
}
