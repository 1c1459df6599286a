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
	api := apiOf(t, sys)
	acc := api.open(t, "USD")
	api.fund(t, acc.ID, 1000)
	api.fund(t, acc.ID, 500) // two movements and two emails: lists that give a cursor to break
	sys.RefusesBadInput(t, gateway.Name,
		apptest.Example{Method: "POST", URL: api.base, Header: api.owner,
			Body: `{"owner_name":"Ada Lovelace","email":"ada@example.com","currency":"EUR","referral_code":"ADA-1"}`},
		apptest.Example{Method: "GET", URL: api.account(acc.ID), Header: api.owner},
		apptest.Example{Method: "POST", URL: api.account(acc.ID) + "/deposits", Body: `{"amount":100}`,
			Header: api.with(idempotency.Header, "dep-1")},
		apptest.Example{Method: "POST", URL: api.account(acc.ID) + "/withdrawals", Body: `{"amount":100}`, Header: api.owner},
		apptest.Example{Method: "GET", URL: api.account(acc.ID) + "/transactions", Header: api.owner},
		apptest.Example{Method: "GET", URL: api.account(acc.ID) + "/notifications", Header: api.owner},
	)
}
