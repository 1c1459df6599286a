package accounts_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	gateway "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/idempotency"
)

// TestBadInput sends what a careless or hostile client might: each request is
// answered with the right 4xx problem, never a 5xx, and changes nothing.
func TestBadInput(t *testing.T) {
	sys := start(t)
	api := apiOf(sys)
	acc := api.open(t, "USD")
	apptest.Do(t, http.MethodPost, api.account(acc.ID)+"/deposits", `{"amount":1000}`, idempotency.Header, "funding").
		Expect(t, http.StatusCreated)

	var (
		deposits    = api.account(acc.ID) + "/deposits"
		withdrawals = api.account(acc.ID) + "/withdrawals"
		unknown     = api.base + "/0190a6f4-6d0e-7b8a-9c1d-2e3f4a5b6c7d"
		malformed   = api.base + "/not-an-id"
		debits      = sys.URL("accounts") + "/gateway/accounts/v1/debits"
		tooBig      = `{"amount":1,"pad":"` + strings.Repeat("x", 70<<10) + `"}`
	)
	openBody := func(owner, email, currency, referral string) string {
		return fmt.Sprintf(`{"owner_name":%q,"email":%q,"currency":%q,"referral_code":%q}`, owner, email, currency, referral)
	}

	cases := []struct {
		name    string
		method  string
		url     string
		body    string
		headers []string
		status  int
		code    string
	}{
		{"malformed JSON", "POST", deposits, `{"amount":`, nil, 400, "malformed_request"},
		{"not JSON at all", "POST", deposits, `amount=5`, nil, 400, "malformed_request"},
		{"empty body", "POST", deposits, ``, nil, 400, "malformed_request"},
		{"an array", "POST", deposits, `[100]`, nil, 400, "malformed_request"},
		{"two objects", "POST", deposits, `{"amount":1}{"amount":1}`, nil, 400, "malformed_request"},
		{"amount as a string", "POST", deposits, `{"amount":"100"}`, nil, 400, "malformed_request"},
		{"amount with a fraction", "POST", withdrawals, `{"amount":1.5}`, nil, 400, "malformed_request"},
		{"unknown field", "POST", deposits, `{"amount":100,"currency":"USD"}`, nil, 400, "malformed_request"},
		{"no amount", "POST", deposits, `{}`, nil, 422, "validation_failed"},
		{"null body", "POST", deposits, `null`, nil, 422, "validation_failed"},
		{"zero amount", "POST", deposits, `{"amount":0}`, nil, 422, "validation_failed"},
		{"negative deposit", "POST", deposits, `{"amount":-100}`, nil, 422, "validation_failed"},
		{"negative withdrawal", "POST", withdrawals, `{"amount":-100}`, nil, 422, "validation_failed"},
		{"amount over the maximum", "POST", deposits, `{"amount":1000000000000001}`, nil, 422, "validation_failed"},
		{"amount 1e30", "POST", deposits, `{"amount":1e30}`, nil, 400, "malformed_request"},
		{"amount past int64", "POST", deposits, `{"amount":9223372036854775808}`, nil, 400, "malformed_request"},
		{"amount below int64", "POST", withdrawals, `{"amount":-9223372036854775809}`, nil, 400, "malformed_request"},
		{"withdrawal beyond the balance", "POST", withdrawals, `{"amount":1001}`, nil, 409, "insufficient_funds"},
		{"body over 64KB", "POST", deposits, tooBig, nil, 413, "body_too_large"},
		{"not JSON content", "POST", deposits, `{"amount":1}`, []string{"Content-Type", "text/plain"}, 415, ""},
		{"Idempotency-Key reused with another body", "POST", deposits, `{"amount":999}`, []string{idempotency.Header, "funding"}, 422, "idempotency_key_reused"},
		{"Idempotency-Key too long", "POST", deposits, `{"amount":1}`, []string{idempotency.Header, strings.Repeat("k", 256)}, 400, "idempotency_key_invalid"},

		{"deposit to an unknown account", "POST", unknown + "/deposits", `{"amount":1}`, nil, 404, "account_not_found"},
		{"withdrawal from a malformed id", "POST", malformed + "/withdrawals", `{"amount":1}`, nil, 404, "account_not_found"},
		{"get an unknown account", "GET", unknown, ``, nil, 404, "account_not_found"},
		{"get a malformed id", "GET", malformed, ``, nil, 404, "account_not_found"},
		{"get a nil id", "GET", api.base + "/00000000-0000-0000-0000-000000000000", ``, nil, 404, "account_not_found"},
		{"transactions of an unknown account", "GET", unknown + "/transactions", ``, nil, 404, "account_not_found"},
		{"notifications of a malformed id", "GET", malformed + "/notifications", ``, nil, 404, "account_not_found"},
		{"unknown route", "GET", api.account(acc.ID) + "/statements", ``, nil, 404, "not_found"},
		{"wrong method", "DELETE", api.account(acc.ID), ``, nil, 405, ""},

		{"open without an owner", "POST", api.base, openBody("  ", "ada@example.com", "USD", ""), nil, 422, "validation_failed"},
		{"open with a long owner name", "POST", api.base, openBody(strings.Repeat("a", 201), "ada@example.com", "USD", ""), nil, 422, "validation_failed"},
		{"open with a NUL in the name", "POST", api.base, `{"owner_name":"Ada\u0000","email":"ada@example.com"}`, nil, 422, "validation_failed"},
		{"open with a bad email", "POST", api.base, openBody("Ada", "not-an-email", "USD", ""), nil, 422, "validation_failed"},
		{"open with a display-name email", "POST", api.base, openBody("Ada", "Ada <ada@example.com>", "USD", ""), nil, 422, "validation_failed"},
		{"open with a lower-case currency", "POST", api.base, openBody("Ada", "ada@example.com", "usd", ""), nil, 422, "validation_failed"},
		{"open with a four-letter currency", "POST", api.base, openBody("Ada", "ada@example.com", "USDD", ""), nil, 422, "validation_failed"},
		{"open with a long referral code", "POST", api.base, openBody("Ada", "ada@example.com", "USD", strings.Repeat("r", 65)), nil, 422, "validation_failed"},
		{"open with an email of the wrong type", "POST", api.base, `{"owner_name":"Ada","email":42}`, nil, 400, "malformed_request"},

		{"gateway debit with a malformed account id", "POST", debits, `{"account_id":"nope","amount":1,"currency":"USD","reference":"r"}`, nil, 400, "malformed_request"},
		{"gateway debit with a NUL in the reference", "POST", debits,
			fmt.Sprintf(`{"account_id":%q,"amount":1,"currency":"USD","reference":"r\u0000"}`, acc.ID), nil, 422, "validation_failed"},
		{"gateway debit beyond the balance", "POST", debits,
			fmt.Sprintf(`{"account_id":%q,"amount":1001,"currency":"USD","reference":"r"}`, acc.ID), nil, 409, "insufficient_funds"},
	}

	db := sys.Schema(t, gateway.Name)
	snapshot := func() (balance, transactions, accounts int64) {
		t.Helper()
		if err := db.Raw(`SELECT
			(SELECT balance FROM accounts WHERE id = ?),
			(SELECT count(*) FROM transactions),
			(SELECT count(*) FROM accounts)`, acc.ID).Row().Scan(&balance, &transactions, &accounts); err != nil {
			t.Fatal(err)
		}
		return balance, transactions, accounts
	}
	balance, transactions, accounts := snapshot()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var body any
			if c.body != "" {
				body = c.body
			}
			res := apptest.Do(t, c.method, c.url, body, c.headers...)
			if res.Status >= 500 {
				t.Fatalf("status %d: %s", res.Status, res.Body)
			}
			res.ExpectProblem(t, c.status, c.code)
			b, n, a := snapshot()
			if b != balance || n != transactions || a != accounts {
				t.Fatalf("balance %d, %d transactions, %d accounts; want %d, %d, %d unchanged", b, n, a, balance, transactions, accounts)
			}
		})
	}
}
