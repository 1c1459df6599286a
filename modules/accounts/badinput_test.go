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
	api := apiOf(t, sys)
	acc := api.open(t, "USD")
	apptest.Do(t, http.MethodPost, api.account(acc.ID)+"/deposits", `{"amount":1000}`, api.with(idempotency.Header, "funding")...).
		Expect(t, http.StatusCreated)

	var (
		deposits    = api.account(acc.ID) + "/deposits"
		withdrawals = api.account(acc.ID) + "/withdrawals"
		unknown     = api.base + "/0190a6f4-6d0e-7b8a-9c1d-2e3f4a5b6c7d"
		malformed   = api.base + "/not-an-id"
		debits      = sys.InternalURL("accounts") + "/gateway/accounts/v1/debits"
		harness     = sys.As(t, apptest.Harness, "accounts") // the internal API admits declared modules only
		tooBig      = `{"amount":1,"pad":"` + strings.Repeat("x", 70<<10) + `"}`
	)
	openBody := func(owner, email, currency, referral string) string {
		return fmt.Sprintf(`{"owner_name":%q,"email":%q,"currency":%q,"referral_code":%q}`, owner, email, currency, referral)
	}

	cases := []apptest.BadRequest{
		{Name: "malformed JSON", Method: "POST", URL: deposits, Body: `{"amount":`, Headers: api.owner, Status: 400, Code: "malformed_request"},
		{Name: "not JSON at all", Method: "POST", URL: deposits, Body: `amount=5`, Headers: api.owner, Status: 400, Code: "malformed_request"},
		{Name: "empty body", Method: "POST", URL: deposits, Headers: api.owner, Status: 400, Code: "malformed_request"},
		{Name: "an array", Method: "POST", URL: deposits, Body: `[100]`, Headers: api.owner, Status: 400, Code: "malformed_request"},
		{Name: "two objects", Method: "POST", URL: deposits, Body: `{"amount":1}{"amount":1}`, Headers: api.owner, Status: 400, Code: "malformed_request"},
		{Name: "amount as a string", Method: "POST", URL: deposits, Body: `{"amount":"100"}`, Headers: api.owner, Status: 400, Code: "malformed_request"},
		{Name: "amount with a fraction", Method: "POST", URL: withdrawals, Body: `{"amount":1.5}`, Headers: api.owner, Status: 400, Code: "malformed_request"},
		{Name: "unknown field", Method: "POST", URL: deposits, Body: `{"amount":100,"currency":"USD"}`, Headers: api.owner, Status: 400, Code: "malformed_request"},
		{Name: "no amount", Method: "POST", URL: deposits, Body: `{}`, Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "null body", Method: "POST", URL: deposits, Body: `null`, Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "zero amount", Method: "POST", URL: deposits, Body: `{"amount":0}`, Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "negative deposit", Method: "POST", URL: deposits, Body: `{"amount":-100}`, Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "negative withdrawal", Method: "POST", URL: withdrawals, Body: `{"amount":-100}`, Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "amount over the maximum", Method: "POST", URL: deposits, Body: `{"amount":1000000000000001}`, Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "amount 1e30", Method: "POST", URL: deposits, Body: `{"amount":1e30}`, Headers: api.owner, Status: 400, Code: "malformed_request"},
		{Name: "amount past int64", Method: "POST", URL: deposits, Body: `{"amount":9223372036854775808}`, Headers: api.owner, Status: 400, Code: "malformed_request"},
		{Name: "amount below int64", Method: "POST", URL: withdrawals, Body: `{"amount":-9223372036854775809}`, Headers: api.owner, Status: 400, Code: "malformed_request"},
		{Name: "withdrawal beyond the balance", Method: "POST", URL: withdrawals, Body: `{"amount":1001}`, Headers: api.owner, Status: 409, Code: "insufficient_funds"},
		{Name: "body over 64KB", Method: "POST", URL: deposits, Body: tooBig, Headers: api.owner, Status: 413, Code: "body_too_large"},
		{Name: "not JSON content", Method: "POST", URL: deposits, Body: `{"amount":1}`, Headers: api.with("Content-Type", "text/plain"), Status: 415},
		{Name: "Idempotency-Key reused with another body", Method: "POST", URL: deposits, Body: `{"amount":999}`, Headers: api.with(idempotency.Header, "funding"), Status: 422, Code: "idempotency_key_reused"},
		{Name: "Idempotency-Key too long", Method: "POST", URL: deposits, Body: `{"amount":1}`, Headers: api.with(idempotency.Header, strings.Repeat("k", 256)), Status: 400, Code: "idempotency_key_invalid"},
		{Name: "Idempotency-Key not UTF-8 on a deposit", Method: "POST", URL: deposits, Body: `{"amount":1}`, Headers: api.with(idempotency.Header, "caf\xe9"), Status: 400, Code: "idempotency_key_invalid"},
		{Name: "Idempotency-Key not UTF-8 on a withdrawal", Method: "POST", URL: withdrawals, Body: `{"amount":1}`, Headers: api.with(idempotency.Header, "caf\xe9"), Status: 400, Code: "idempotency_key_invalid"},
		{Name: "Idempotency-Key beyond ASCII", Method: "POST", URL: deposits, Body: `{"amount":1}`, Headers: api.with(idempotency.Header, "café"), Status: 400, Code: "idempotency_key_invalid"},
		{Name: "Idempotency-Key with a space", Method: "POST", URL: deposits, Body: `{"amount":1}`, Headers: api.with(idempotency.Header, "key 1"), Status: 400, Code: "idempotency_key_invalid"},
		{Name: "Idempotency-Key empty on a deposit", Method: "POST", URL: deposits, Body: `{"amount":1}`, Headers: api.with(idempotency.Header, ""), Status: 400, Code: "idempotency_key_invalid"},
		{Name: "Idempotency-Key empty on a withdrawal", Method: "POST", URL: withdrawals, Body: `{"amount":1}`, Headers: api.with(idempotency.Header, ""), Status: 400, Code: "idempotency_key_invalid"},

		{Name: "deposit to an unknown account", Method: "POST", URL: unknown + "/deposits", Body: `{"amount":1}`, Headers: api.owner, Status: 404, Code: "account_not_found"},
		{Name: "withdrawal from a malformed id", Method: "POST", URL: malformed + "/withdrawals", Body: `{"amount":1}`, Headers: api.owner, Status: 404, Code: "account_not_found"},
		{Name: "get an unknown account", Method: "GET", URL: unknown, Headers: api.owner, Status: 404, Code: "account_not_found"},
		{Name: "get a malformed id", Method: "GET", URL: malformed, Headers: api.owner, Status: 404, Code: "account_not_found"},
		{Name: "get a nil id", Method: "GET", URL: api.base + "/00000000-0000-0000-0000-000000000000", Headers: api.owner, Status: 404, Code: "account_not_found"},
		{Name: "transactions of an unknown account", Method: "GET", URL: unknown + "/transactions", Headers: api.owner, Status: 404, Code: "account_not_found"},
		{Name: "notifications of a malformed id", Method: "GET", URL: malformed + "/notifications", Headers: api.owner, Status: 404, Code: "account_not_found"},
		{Name: "unknown route", Method: "GET", URL: api.account(acc.ID) + "/statements", Headers: api.owner, Status: 404, Code: "not_found"},
		{Name: "wrong method", Method: "DELETE", URL: api.account(acc.ID), Headers: api.owner, Status: 405},

		{Name: "open without an owner", Method: "POST", URL: api.base, Body: openBody("  ", "ada@example.com", "USD", ""), Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "open with a long owner name", Method: "POST", URL: api.base, Body: openBody(strings.Repeat("a", 201), "ada@example.com", "USD", ""), Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "open with a NUL in the name", Method: "POST", URL: api.base, Body: `{"owner_name":"Ada\u0000","email":"ada@example.com"}`, Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "open with a bad email", Method: "POST", URL: api.base, Body: openBody("Ada", "not-an-email", "USD", ""), Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "open with a display-name email", Method: "POST", URL: api.base, Body: openBody("Ada", "Ada <ada@example.com>", "USD", ""), Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "open with a lower-case currency", Method: "POST", URL: api.base, Body: openBody("Ada", "ada@example.com", "usd", ""), Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "open with a four-letter currency", Method: "POST", URL: api.base, Body: openBody("Ada", "ada@example.com", "USDD", ""), Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "open with a long referral code", Method: "POST", URL: api.base, Body: openBody("Ada", "ada@example.com", "USD", strings.Repeat("r", 65)), Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "open with CR LF in the name", Method: "POST", URL: api.base, Body: `{"owner_name":"Ada\r\nBcc: eve@example.com","email":"ada@example.com"}`, Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "open with a name of only a zero-width space", Method: "POST", URL: api.base, Body: `{"owner_name":"\u200b","email":"ada@example.com"}`, Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "open with a right-to-left override in the name", Method: "POST", URL: api.base, Body: `{"owner_name":"Ada\u202etxt.exe","email":"ada@example.com"}`, Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "open with a name not in UTF-8", Method: "POST", URL: api.base, Body: "{\"owner_name\":\"Jos\xe9\",\"email\":\"ada@example.com\"}", Headers: api.owner, Status: 400, Code: "malformed_request"},
		{Name: "open with a NUL in the referral code", Method: "POST", URL: api.base, Body: `{"owner_name":"Ada","email":"ada@example.com","referral_code":"R\u0000"}`, Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "open with a zero-width space in the referral code", Method: "POST", URL: api.base, Body: openBody("Ada", "ada@example.com", "USD", "R\u200bX"), Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "open with a right-to-left override in the email", Method: "POST", URL: api.base, Body: openBody("Ada", "ada\u202e@example.com", "USD", ""), Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "open with an unassigned currency", Method: "POST", URL: api.base, Body: openBody("Ada", "ada@example.com", "ZZZ", ""), Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "open with the no-currency code", Method: "POST", URL: api.base, Body: openBody("Ada", "ada@example.com", "XXX", ""), Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "open with the testing code", Method: "POST", URL: api.base, Body: openBody("Ada", "ada@example.com", "XTS", ""), Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "open in gold", Method: "POST", URL: api.base, Body: openBody("Ada", "ada@example.com", "XAU", ""), Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "open with a withdrawn currency", Method: "POST", URL: api.base, Body: openBody("Ada", "ada@example.com", "DEM", ""), Headers: api.owner, Status: 422, Code: "validation_failed"},
		{Name: "open with an email of the wrong type", Method: "POST", URL: api.base, Body: `{"owner_name":"Ada","email":42}`, Headers: api.owner, Status: 400, Code: "malformed_request"},

		{Name: "gateway debit with a malformed account id", Method: "POST", URL: debits, Body: `{"account_id":"nope","amount":1,"currency":"USD","reference":"r"}`, Headers: harness, Status: 400, Code: "malformed_request"},
		{Name: "gateway debit with a NUL in the reference", Method: "POST", URL: debits, Body: fmt.Sprintf(`{"account_id":%q,"amount":1,"currency":"USD","reference":"r\u0000"}`, acc.ID), Headers: harness, Status: 422, Code: "validation_failed"},
		{Name: "gateway debit with a LF in the reference", Method: "POST", URL: debits, Body: fmt.Sprintf(`{"account_id":%q,"amount":1,"currency":"USD","reference":"r\n"}`, acc.ID), Headers: harness, Status: 422, Code: "validation_failed"},
		{Name: "gateway debit with a right-to-left override in the reference", Method: "POST", URL: debits, Body: fmt.Sprintf(`{"account_id":%q,"amount":1,"currency":"USD","reference":"r\u202e"}`, acc.ID), Headers: harness, Status: 422, Code: "validation_failed"},
		{Name: "gateway debit with a blank reference", Method: "POST", URL: debits, Body: fmt.Sprintf(`{"account_id":%q,"amount":1,"currency":"USD","reference":"  "}`, acc.ID), Headers: harness, Status: 422, Code: "validation_failed"},
		{Name: "gateway debit in an unassigned currency", Method: "POST", URL: debits, Body: fmt.Sprintf(`{"account_id":%q,"amount":1,"currency":"ZZZ","reference":"r"}`, acc.ID), Headers: harness, Status: 422, Code: "validation_failed"},
		{Name: "gateway credit with a NUL in the reference", Method: "POST", URL: sys.InternalURL("accounts") + "/gateway/accounts/v1/credits", Body: fmt.Sprintf(`{"account_id":%q,"amount":1,"currency":"USD","reference":"r\u0000"}`, acc.ID), Headers: harness, Status: 422, Code: "validation_failed"},
		{Name: "gateway debit beyond the balance", Method: "POST", URL: debits, Body: fmt.Sprintf(`{"account_id":%q,"amount":1001,"currency":"USD","reference":"r"}`, acc.ID), Headers: harness, Status: 409, Code: "insufficient_funds"},
	}

	db := sys.Schema(t, gateway.Name)
	apptest.ExpectRefused(t, cases, func(t testing.TB) string {
		t.Helper()
		var balance, transactions, accounts int64
		if err := db.Raw(`SELECT
			(SELECT balance FROM accounts WHERE id = ?),
			(SELECT count(*) FROM transactions),
			(SELECT count(*) FROM accounts)`, acc.ID).Row().Scan(&balance, &transactions, &accounts); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("balance %d, %d transactions, %d accounts", balance, transactions, accounts)
	})
}
