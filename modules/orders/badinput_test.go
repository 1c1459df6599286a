package orders_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	ordersgw "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/idempotency"
)

// TestBadInput sends what a careless or hostile client might to every
// endpoint: each request is answered with the right 4xx problem, never a 5xx,
// and changes nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	sku := w.newProduct(t, 100, "USD", 10)
	account := w.newAccount(t, "USD", 10_000)
	paid := w.placed(t, account, line{sku, 1})
	w.place(t, account, []line{{sku, 1}}, idempotency.Header, "bad-input-key").Expect(t, http.StatusCreated)
	rejected := w.placed(t, account, line{sku, 1000})
	wantRejected(t, rejected, ordersgw.RejectOutOfStock)

	var (
		orders     = w.orders("/v1/orders")
		unknown    = w.orders("/v1/orders/0190a6f4-6d0e-7b8a-9c1d-2e3f4a5b6c7d")
		malformed  = w.orders("/v1/orders/not-an-id")
		gatewayGet = w.InternalURL(ordersgw.Name) + "/gateway/orders/v1/orders/"
		tooBig     = `{"account_id":"` + account.ID.String() + `","lines":[],"pad":"` + strings.Repeat("x", 70<<10) + `"}`
	)
	body := func(account, lines string) string { return fmt.Sprintf(`{"account_id":%s,"lines":%s}`, account, lines) }
	acc := `"` + account.ID.String() + `"`
	one := `[{"sku":"` + sku + `","quantity":1}]`
	var many []string
	for i := range 101 {
		many = append(many, fmt.Sprintf(`{"sku":"S%d","quantity":1}`, i))
	}

	cases := []apptest.BadRequest{
		{Name: "malformed JSON", Method: "POST", URL: orders, Body: `{"account_id":`, Status: 400, Code: "malformed_request"},
		{Name: "not JSON at all", Method: "POST", URL: orders, Body: `account_id=1`, Status: 400, Code: "malformed_request"},
		{Name: "empty body", Method: "POST", URL: orders, Status: 400, Code: "malformed_request"},
		{Name: "an array", Method: "POST", URL: orders, Body: `[]`, Status: 400, Code: "malformed_request"},
		{Name: "two objects", Method: "POST", URL: orders, Body: body(acc, one) + body(acc, one), Status: 400, Code: "malformed_request"},
		{Name: "unknown field", Method: "POST", URL: orders, Body: `{"account_id":` + acc + `,"lines":` + one + `,"total":1}`, Status: 400, Code: "malformed_request"},
		{Name: "account_id a number", Method: "POST", URL: orders, Body: body(`42`, one), Status: 400, Code: "malformed_request"},
		{Name: "lines an object", Method: "POST", URL: orders, Body: body(acc, `{"sku":"x"}`), Status: 400, Code: "malformed_request"},
		{Name: "quantity a string", Method: "POST", URL: orders, Body: body(acc, `[{"sku":"`+sku+`","quantity":"1"}]`), Status: 400, Code: "malformed_request"},
		{Name: "quantity with a fraction", Method: "POST", URL: orders, Body: body(acc, `[{"sku":"`+sku+`","quantity":1.5}]`), Status: 400, Code: "malformed_request"},
		{Name: "quantity past int64", Method: "POST", URL: orders, Body: body(acc, `[{"sku":"`+sku+`","quantity":9223372036854775808}]`), Status: 400, Code: "malformed_request"},
		{Name: "body over 64KB", Method: "POST", URL: orders, Body: tooBig, Status: 413, Code: "body_too_large"},
		{Name: "not JSON content", Method: "POST", URL: orders, Body: body(acc, one), Headers: []string{"Content-Type", "text/plain"}, Status: 415},

		{Name: "null body", Method: "POST", URL: orders, Body: `null`, Status: 422, Code: "validation_failed"},
		{Name: "no account_id", Method: "POST", URL: orders, Body: `{"lines":` + one + `}`, Status: 422, Code: "validation_failed"},
		{Name: "account_id not a UUID", Method: "POST", URL: orders, Body: body(`"acc-1"`, one), Status: 422, Code: "validation_failed"},
		{Name: "account_id the nil UUID", Method: "POST", URL: orders, Body: body(`"00000000-0000-0000-0000-000000000000"`, one), Status: 422, Code: "validation_failed"},
		{Name: "account_id a UUID in braces", Method: "POST", URL: orders, Body: body(`"{`+account.ID.String()+`}"`, one), Status: 422, Code: "validation_failed"},
		{Name: "no lines", Method: "POST", URL: orders, Body: `{"account_id":` + acc + `}`, Status: 422, Code: "validation_failed"},
		{Name: "lines empty", Method: "POST", URL: orders, Body: body(acc, `[]`), Status: 422, Code: "validation_failed"},
		{Name: "lines null", Method: "POST", URL: orders, Body: body(acc, `null`), Status: 422, Code: "validation_failed"},
		{Name: "101 lines", Method: "POST", URL: orders, Body: body(acc, "["+strings.Join(many, ",")+"]"), Status: 422, Code: "validation_failed"},
		{Name: "a null line", Method: "POST", URL: orders, Body: body(acc, `[null]`), Status: 422, Code: "validation_failed"},
		{Name: "an empty SKU", Method: "POST", URL: orders, Body: body(acc, `[{"sku":"","quantity":1}]`), Status: 422, Code: "validation_failed"},
		{Name: "a SKU of 65 characters", Method: "POST", URL: orders, Body: body(acc, `[{"sku":"`+strings.Repeat("s", 65)+`","quantity":1}]`), Status: 422, Code: "validation_failed"},
		{Name: "a NUL in the SKU", Method: "POST", URL: orders, Body: body(acc, `[{"sku":"a\u0000b","quantity":1}]`), Status: 422, Code: "validation_failed"},
		{Name: "a LF in the SKU", Method: "POST", URL: orders, Body: body(acc, `[{"sku":"a\nb","quantity":1}]`), Status: 422, Code: "validation_failed"},
		{Name: "a SKU of only a zero-width space", Method: "POST", URL: orders, Body: body(acc, `[{"sku":"\u200b","quantity":1}]`), Status: 422, Code: "validation_failed"},
		{Name: "a right-to-left override in the SKU", Method: "POST", URL: orders, Body: body(acc, `[{"sku":"a\u202eb","quantity":1}]`), Status: 422, Code: "validation_failed"},
		{Name: "a blank SKU", Method: "POST", URL: orders, Body: body(acc, `[{"sku":"   ","quantity":1}]`), Status: 422, Code: "validation_failed"},
		{Name: "quantity 0", Method: "POST", URL: orders, Body: body(acc, `[{"sku":"`+sku+`","quantity":0}]`), Status: 422, Code: "validation_failed"},
		{Name: "no quantity", Method: "POST", URL: orders, Body: body(acc, `[{"sku":"`+sku+`"}]`), Status: 422, Code: "validation_failed"},
		{Name: "a negative quantity", Method: "POST", URL: orders, Body: body(acc, `[{"sku":"`+sku+`","quantity":-1}]`), Status: 422, Code: "validation_failed"},
		{Name: "quantity over 1e9", Method: "POST", URL: orders, Body: body(acc, `[{"sku":"`+sku+`","quantity":1000000001}]`), Status: 422, Code: "validation_failed"},
		{Name: "the same SKU twice", Method: "POST", URL: orders, Body: body(acc, `[{"sku":"`+sku+`","quantity":1},{"sku":"`+sku+`","quantity":2}]`), Status: 422, Code: "validation_failed"},
		{Name: "Idempotency-Key reused with another body", Method: "POST", URL: orders, Body: body(acc, `[{"sku":"`+sku+`","quantity":2}]`), Headers: []string{idempotency.Header, "bad-input-key"}, Status: 422, Code: "idempotency_key_reused"},
		{Name: "Idempotency-Key too long", Method: "POST", URL: orders, Body: body(acc, one), Headers: []string{idempotency.Header, strings.Repeat("k", 256)}, Status: 400, Code: "idempotency_key_invalid"},
		{Name: "Idempotency-Key not UTF-8", Method: "POST", URL: orders, Body: body(acc, one), Headers: []string{idempotency.Header, "caf\xe9"}, Status: 400, Code: "idempotency_key_invalid"},
		{Name: "Idempotency-Key empty", Method: "POST", URL: orders, Body: body(acc, one), Headers: []string{idempotency.Header, ""}, Status: 400, Code: "idempotency_key_invalid"},

		{Name: "get an unknown order", Method: "GET", URL: unknown, Status: 404, Code: "order_not_found"},
		{Name: "get a malformed id", Method: "GET", URL: malformed, Status: 404, Code: "order_not_found"},
		{Name: "get the nil id", Method: "GET", URL: w.orders("/v1/orders/00000000-0000-0000-0000-000000000000"), Status: 404, Code: "order_not_found"},
		{Name: "list without an account", Method: "GET", URL: orders, Status: 422, Code: "validation_failed"},
		{Name: "list with an empty account", Method: "GET", URL: orders + "?account_id=", Status: 422, Code: "validation_failed"},
		{Name: "list with a malformed account", Method: "GET", URL: orders + "?account_id=42", Status: 422, Code: "validation_failed"},
		{Name: "cancel an unknown order", Method: "POST", URL: unknown + "/cancel", Status: 404, Code: "order_not_found"},
		{Name: "cancel a malformed id", Method: "POST", URL: malformed + "/cancel", Status: 404, Code: "order_not_found"},
		{Name: "cancel a rejected order", Method: "POST", URL: w.orders("/v1/orders/" + rejected.ID.String() + "/cancel"), Status: 409, Code: "not_cancellable"},
		{Name: "gateway get of an unknown order", Method: "GET", URL: gatewayGet + "0190a6f4-6d0e-7b8a-9c1d-2e3f4a5b6c7d", Headers: w.As(t, apptest.Harness, ordersgw.Name), Status: 404, Code: "order_not_found"},
		{Name: "gateway get of a malformed id", Method: "GET", URL: gatewayGet + "not-an-id", Headers: w.As(t, apptest.Harness, ordersgw.Name), Status: 404, Code: "order_not_found"},
		{Name: "unknown route", Method: "GET", URL: w.orders("/v1/orders/" + paid.ID.String() + "/invoice"), Status: 404, Code: "not_found"},
		{Name: "wrong method", Method: "DELETE", URL: w.orders("/v1/orders/" + paid.ID.String()), Status: 405},
		{Name: "wrong method on cancel", Method: "GET", URL: w.orders("/v1/orders/" + paid.ID.String() + "/cancel"), Status: 405},
	}

	// Every request of the public API is the account holder's, so that what
	// refuses it is the input, not the token.
	for i, c := range cases {
		if strings.HasPrefix(c.URL, w.orders("/v1/")) {
			cases[i].Headers = append(slices.Clone(account.owner.header), c.Headers...)
		}
	}

	db := w.Schema(t, ordersgw.Name)
	apptest.ExpectRefused(t, cases, func(t testing.TB) string {
		t.Helper()
		var orders, lines int64
		var latest string
		if err := db.Raw(`SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_lines),
			(SELECT COALESCE(max(updated_at)::text, '') FROM orders)`).Row().Scan(&orders, &lines, &latest); err != nil {
			t.Fatal(err)
		}
		p := w.product(t, sku)
		return fmt.Sprintf("%d orders, %d lines, last change %s, balance %d, stock %d/%d",
			orders, lines, latest, w.balance(t, account), p.OnHand, p.Reserved)
	})
}
