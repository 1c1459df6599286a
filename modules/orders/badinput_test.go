package orders_test

import (
	"fmt"
	"net/http"
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
		gatewayGet = w.orders("/gateway/orders/v1/orders/")
		tooBig     = `{"account_id":"` + account.String() + `","lines":[],"pad":"` + strings.Repeat("x", 70<<10) + `"}`
	)
	body := func(account, lines string) string { return fmt.Sprintf(`{"account_id":%s,"lines":%s}`, account, lines) }
	acc := `"` + account.String() + `"`
	one := `[{"sku":"` + sku + `","quantity":1}]`
	var many []string
	for i := range 101 {
		many = append(many, fmt.Sprintf(`{"sku":"S%d","quantity":1}`, i))
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
		{"malformed JSON", "POST", orders, `{"account_id":`, nil, 400, "malformed_request"},
		{"not JSON at all", "POST", orders, `account_id=1`, nil, 400, "malformed_request"},
		{"empty body", "POST", orders, ``, nil, 400, "malformed_request"},
		{"an array", "POST", orders, `[]`, nil, 400, "malformed_request"},
		{"two objects", "POST", orders, body(acc, one) + body(acc, one), nil, 400, "malformed_request"},
		{"unknown field", "POST", orders, `{"account_id":` + acc + `,"lines":` + one + `,"total":1}`, nil, 400, "malformed_request"},
		{"account_id a number", "POST", orders, body(`42`, one), nil, 400, "malformed_request"},
		{"lines an object", "POST", orders, body(acc, `{"sku":"x"}`), nil, 400, "malformed_request"},
		{"quantity a string", "POST", orders, body(acc, `[{"sku":"`+sku+`","quantity":"1"}]`), nil, 400, "malformed_request"},
		{"quantity with a fraction", "POST", orders, body(acc, `[{"sku":"`+sku+`","quantity":1.5}]`), nil, 400, "malformed_request"},
		{"quantity past int64", "POST", orders, body(acc, `[{"sku":"`+sku+`","quantity":9223372036854775808}]`), nil, 400, "malformed_request"},
		{"body over 64KB", "POST", orders, tooBig, nil, 413, "body_too_large"},
		{"not JSON content", "POST", orders, body(acc, one), []string{"Content-Type", "text/plain"}, 415, ""},

		{"null body", "POST", orders, `null`, nil, 422, "validation_failed"},
		{"no account_id", "POST", orders, `{"lines":` + one + `}`, nil, 422, "validation_failed"},
		{"account_id not a UUID", "POST", orders, body(`"acc-1"`, one), nil, 422, "validation_failed"},
		{"account_id the nil UUID", "POST", orders, body(`"00000000-0000-0000-0000-000000000000"`, one), nil, 422, "validation_failed"},
		{"account_id a UUID in braces", "POST", orders, body(`"{`+account.String()+`}"`, one), nil, 422, "validation_failed"},
		{"no lines", "POST", orders, `{"account_id":` + acc + `}`, nil, 422, "validation_failed"},
		{"lines empty", "POST", orders, body(acc, `[]`), nil, 422, "validation_failed"},
		{"lines null", "POST", orders, body(acc, `null`), nil, 422, "validation_failed"},
		{"101 lines", "POST", orders, body(acc, "["+strings.Join(many, ",")+"]"), nil, 422, "validation_failed"},
		{"a null line", "POST", orders, body(acc, `[null]`), nil, 422, "validation_failed"},
		{"an empty SKU", "POST", orders, body(acc, `[{"sku":"","quantity":1}]`), nil, 422, "validation_failed"},
		{"a SKU of 65 characters", "POST", orders, body(acc, `[{"sku":"`+strings.Repeat("s", 65)+`","quantity":1}]`), nil, 422, "validation_failed"},
		{"a NUL in the SKU", "POST", orders, body(acc, `[{"sku":"a\u0000b","quantity":1}]`), nil, 422, "validation_failed"},
		{"quantity 0", "POST", orders, body(acc, `[{"sku":"`+sku+`","quantity":0}]`), nil, 422, "validation_failed"},
		{"no quantity", "POST", orders, body(acc, `[{"sku":"`+sku+`"}]`), nil, 422, "validation_failed"},
		{"a negative quantity", "POST", orders, body(acc, `[{"sku":"`+sku+`","quantity":-1}]`), nil, 422, "validation_failed"},
		{"quantity over 1e9", "POST", orders, body(acc, `[{"sku":"`+sku+`","quantity":1000000001}]`), nil, 422, "validation_failed"},
		{"the same SKU twice", "POST", orders, body(acc, `[{"sku":"`+sku+`","quantity":1},{"sku":"`+sku+`","quantity":2}]`), nil, 422, "validation_failed"},
		{"Idempotency-Key reused with another body", "POST", orders, body(acc, `[{"sku":"`+sku+`","quantity":2}]`),
			[]string{idempotency.Header, "bad-input-key"}, 422, "idempotency_key_reused"},
		{"Idempotency-Key too long", "POST", orders, body(acc, one), []string{idempotency.Header, strings.Repeat("k", 256)}, 400, "idempotency_key_invalid"},

		{"get an unknown order", "GET", unknown, ``, nil, 404, "order_not_found"},
		{"get a malformed id", "GET", malformed, ``, nil, 404, "order_not_found"},
		{"get the nil id", "GET", w.orders("/v1/orders/00000000-0000-0000-0000-000000000000"), ``, nil, 404, "order_not_found"},
		{"list without an account", "GET", orders, ``, nil, 422, "validation_failed"},
		{"list with an empty account", "GET", orders + "?account_id=", ``, nil, 422, "validation_failed"},
		{"list with a malformed account", "GET", orders + "?account_id=42", ``, nil, 422, "validation_failed"},
		{"cancel an unknown order", "POST", unknown + "/cancel", ``, nil, 404, "order_not_found"},
		{"cancel a malformed id", "POST", malformed + "/cancel", ``, nil, 404, "order_not_found"},
		{"cancel a rejected order", "POST", w.orders("/v1/orders/" + rejected.ID.String() + "/cancel"), ``, nil, 409, "not_cancellable"},
		{"gateway get of an unknown order", "GET", gatewayGet + "0190a6f4-6d0e-7b8a-9c1d-2e3f4a5b6c7d", ``, nil, 404, "order_not_found"},
		{"gateway get of a malformed id", "GET", gatewayGet + "not-an-id", ``, nil, 404, "order_not_found"},
		{"unknown route", "GET", w.orders("/v1/orders/" + paid.ID.String() + "/invoice"), ``, nil, 404, "not_found"},
		{"wrong method", "DELETE", w.orders("/v1/orders/" + paid.ID.String()), ``, nil, 405, ""},
		{"wrong method on cancel", "GET", w.orders("/v1/orders/" + paid.ID.String() + "/cancel"), ``, nil, 405, ""},
	}

	db := w.Schema(t, ordersgw.Name)
	snapshot := func() string {
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
	}
	before := snapshot()
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
			if after := snapshot(); after != before {
				t.Fatalf("%s, want %s unchanged", after, before)
			}
		})
	}
}
