package warehouse_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	gateway "github.com/uberservice/uberservice/gateway/warehouse"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/idempotency"
)

// TestBadInput sends what a careless or hostile client might: each request is
// answered with the right 4xx problem, never a 5xx, and changes nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	w := start(t)
	sku := w.newProduct(t, 500, "USD", 10)
	w.receive(t, sku, 1, idempotency.Header, "delivery")
	reservedOrder := w.reserve(t, line{sku, 2})
	cancelledOrder := w.reserve(t, line{sku, 1})
	w.paid(t, cancelledOrder)
	w.cancelled(t, cancelledOrder)
	cancelledShipment := w.shipmentOf(t, cancelledOrder).ID

	var (
		products     = w.url("/v1/products")
		stock        = w.url("/v1/products/" + sku + "/stock")
		shipments    = w.url("/v1/shipments")
		reservations = w.url("/gateway/warehouse/v1/reservations")
		unknownID    = "0190a6f4-6d0e-7b8a-9c1d-2e3f4a5b6c7d"
		tooBig       = `{"quantity":1,"pad":"` + strings.Repeat("x", 70<<10) + `"}`
	)
	productBody := func(sku, name string, price any, currency string) string {
		return fmt.Sprintf(`{"sku":%q,"name":%q,"price":%v,"currency":%q}`, sku, name, price, currency)
	}
	reserveBody := func(order any, lines string) string {
		return fmt.Sprintf(`{"order_id":%q,"lines":%s}`, fmt.Sprint(order), lines)
	}
	one := fmt.Sprintf(`[{"sku":%q,"quantity":1}]`, sku)

	cases := []struct {
		name    string
		method  string
		url     string
		body    string
		headers []string
		status  int
		code    string
	}{
		{"create: malformed JSON", "POST", products, `{"sku":`, nil, 400, "malformed_request"},
		{"create: empty body", "POST", products, ``, nil, 400, "malformed_request"},
		{"create: an array", "POST", products, `[]`, nil, 400, "malformed_request"},
		{"create: unknown field", "POST", products, `{"sku":"A","name":"A","price":1,"stock":5}`, nil, 400, "malformed_request"},
		{"create: price as a string", "POST", products, productBody("A", "A", `"1"`, "USD"), nil, 400, "malformed_request"},
		{"create: price with a fraction", "POST", products, productBody("A", "A", 1.5, "USD"), nil, 400, "malformed_request"},
		{"create: price past int64", "POST", products, productBody("A", "A", "9223372036854775808", "USD"), nil, 400, "malformed_request"},
		{"create: sku of the wrong type", "POST", products, `{"sku":7,"name":"A","price":1}`, nil, 400, "malformed_request"},
		{"create: null body", "POST", products, `null`, nil, 422, "validation_failed"},
		{"create: nothing", "POST", products, `{}`, nil, 422, "validation_failed"},
		{"create: no sku", "POST", products, `{"name":"A","price":1}`, nil, 422, "validation_failed"},
		{"create: sku with a space", "POST", products, productBody("A B", "A", 1, "USD"), nil, 422, "validation_failed"},
		{"create: sku with a slash", "POST", products, productBody("A/B", "A", 1, "USD"), nil, 422, "validation_failed"},
		{"create: sku of 65 characters", "POST", products, productBody(strings.Repeat("A", 65), "A", 1, "USD"), nil, 422, "validation_failed"},
		{"create: sku with a NUL", "POST", products, `{"sku":"A\u0000","name":"A","price":1}`, nil, 422, "validation_failed"},
		{"create: no name", "POST", products, `{"sku":"A","price":1}`, nil, 422, "validation_failed"},
		{"create: a blank name", "POST", products, productBody("A", "   ", 1, "USD"), nil, 422, "validation_failed"},
		{"create: a long name", "POST", products, productBody("A", strings.Repeat("n", 201), 1, "USD"), nil, 422, "validation_failed"},
		{"create: a NUL in the name", "POST", products, `{"sku":"A","name":"A\u0000","price":1}`, nil, 422, "validation_failed"},
		{"create: no price", "POST", products, `{"sku":"A","name":"A"}`, nil, 422, "validation_failed"},
		{"create: negative price", "POST", products, productBody("A", "A", -1, "USD"), nil, 422, "validation_failed"},
		{"create: price over the maximum", "POST", products, productBody("A", "A", "1000000000000001", "USD"), nil, 422, "validation_failed"},
		{"create: lower-case currency", "POST", products, productBody("A", "A", 1, "usd"), nil, 422, "validation_failed"},
		{"create: four-letter currency", "POST", products, productBody("A", "A", 1, "USDD"), nil, 422, "validation_failed"},
		{"create: a sku that is taken", "POST", products, productBody(sku, "Again", 1, "USD"), nil, 409, "duplicate_sku"},
		{"create: body over 64KB", "POST", products, tooBig, nil, 413, "body_too_large"},
		{"create: not JSON content", "POST", products, productBody("A", "A", 1, "USD"), []string{"Content-Type", "text/plain"}, 415, ""},

		{"get: unknown sku", "GET", products + "/NOPE", ``, nil, 404, "product_not_found"},
		{"get: malformed sku", "GET", products + "/has%20space", ``, nil, 404, "product_not_found"},
		{"get: a NUL in the sku", "GET", products + "/A%00B", ``, nil, 404, "product_not_found"},
		{"get: a long sku", "GET", products + "/" + strings.Repeat("A", 65), ``, nil, 404, "product_not_found"},

		{"stock: malformed JSON", "POST", stock, `{"quantity":`, nil, 400, "malformed_request"},
		{"stock: quantity as a string", "POST", stock, `{"quantity":"5"}`, nil, 400, "malformed_request"},
		{"stock: quantity with a fraction", "POST", stock, `{"quantity":1.5}`, nil, 400, "malformed_request"},
		{"stock: quantity past int64", "POST", stock, `{"quantity":9223372036854775808}`, nil, 400, "malformed_request"},
		{"stock: unknown field", "POST", stock, `{"quantity":1,"sku":"A"}`, nil, 400, "malformed_request"},
		{"stock: no quantity", "POST", stock, `{}`, nil, 422, "validation_failed"},
		{"stock: quantity 0", "POST", stock, `{"quantity":0}`, nil, 422, "validation_failed"},
		{"stock: negative quantity", "POST", stock, `{"quantity":-5}`, nil, 422, "validation_failed"},
		{"stock: quantity over the maximum", "POST", stock, `{"quantity":1000000001}`, nil, 422, "validation_failed"},
		{"stock: unknown sku", "POST", products + "/NOPE/stock", `{"quantity":1}`, nil, 404, "product_not_found"},
		{"stock: malformed sku", "POST", products + "/a%20b/stock", `{"quantity":1}`, nil, 404, "product_not_found"},
		{"stock: Idempotency-Key reused with another body", "POST", stock, `{"quantity":2}`, []string{idempotency.Header, "delivery"}, 422, "idempotency_key_reused"},
		{"stock: Idempotency-Key too long", "POST", stock, `{"quantity":1}`, []string{idempotency.Header, strings.Repeat("k", 256)}, 400, "idempotency_key_invalid"},
		{"stock: body over 64KB", "POST", stock, tooBig, nil, 413, "body_too_large"},

		{"shipments: no order_id", "GET", shipments, ``, nil, 422, "validation_failed"},
		{"shipments: empty order_id", "GET", shipments + "?order_id=", ``, nil, 422, "validation_failed"},
		{"shipments: malformed order_id", "GET", shipments + "?order_id=42", ``, nil, 422, "validation_failed"},
		{"shipment: malformed id", "GET", shipments + "/not-an-id", ``, nil, 404, "shipment_not_found"},
		{"shipment: unknown id", "GET", shipments + "/" + unknownID, ``, nil, 404, "shipment_not_found"},
		{"dispatch: unknown shipment", "POST", shipments + "/" + unknownID + "/dispatch", ``, nil, 404, "shipment_not_found"},
		{"dispatch: malformed id", "POST", shipments + "/nope/dispatch", ``, nil, 404, "shipment_not_found"},
		{"dispatch: a cancelled shipment", "POST", shipments + "/" + cancelledShipment.String() + "/dispatch", ``, nil, 409, "shipment_cancelled"},

		{"reserve: malformed JSON", "POST", reservations, `{"order_id":`, nil, 400, "malformed_request"},
		{"reserve: malformed order id", "POST", reservations, reserveBody("nope", one), nil, 400, "malformed_request"},
		{"reserve: quantity as a string", "POST", reservations, reserveBody(uuid.New(), fmt.Sprintf(`[{"sku":%q,"quantity":"1"}]`, sku)), nil, 400, "malformed_request"},
		{"reserve: lines as an object", "POST", reservations, reserveBody(uuid.New(), `{}`), nil, 400, "malformed_request"},
		{"reserve: no lines", "POST", reservations, reserveBody(uuid.New(), `[]`), nil, 422, "validation_failed"},
		{"reserve: nil order id", "POST", reservations, reserveBody(uuid.Nil, one), nil, 422, "validation_failed"},
		{"reserve: quantity 0", "POST", reservations, reserveBody(uuid.New(), fmt.Sprintf(`[{"sku":%q,"quantity":0}]`, sku)), nil, 422, "validation_failed"},
		{"reserve: unknown sku", "POST", reservations, reserveBody(uuid.New(), `[{"sku":"NOPE","quantity":1}]`), nil, 422, "unknown_sku"},
		{"reserve: a NUL in the sku", "POST", reservations, reserveBody(uuid.New(), `[{"sku":"A\u0000","quantity":1}]`), nil, 422, "unknown_sku"},
		{"reserve: beyond the stock", "POST", reservations, reserveBody(uuid.New(), fmt.Sprintf(`[{"sku":%q,"quantity":10}]`, sku)), nil, 409, "out_of_stock"},
		{"reserve: other lines for a reserved order", "POST", reservations, reserveBody(reservedOrder, fmt.Sprintf(`[{"sku":%q,"quantity":3}]`, sku)), nil, 409, "reservation_conflict"},
		{"reserve: a released order", "POST", reservations, reserveBody(cancelledOrder, one), nil, 409, "reservation_released"},
		{"release: malformed order id", "POST", reservations + "/nope/release", ``, nil, 404, "not_found"},
		{"release: nil order id", "POST", reservations + "/" + uuid.Nil.String() + "/release", ``, nil, 422, "validation_failed"},

		{"unknown route", "GET", w.url("/v1/stock"), ``, nil, 404, "not_found"},
		{"wrong method", "DELETE", products + "/" + sku, ``, nil, 405, ""},
	}

	db := w.Schema(t, gateway.Name)
	type state struct{ onHand, reserved, products, reservations, shipments, picking, idempotencyKeys int64 }
	snapshot := func() (s state) {
		t.Helper()
		if err := db.Raw(`SELECT
			(SELECT sum(on_hand) FROM products), (SELECT sum(reserved) FROM products), (SELECT count(*) FROM products),
			(SELECT count(*) FROM reservations), (SELECT count(*) FROM shipments),
			(SELECT count(*) FROM shipments WHERE status = 'picking'), (SELECT count(*) FROM idempotency_keys)`).
			Row().Scan(&s.onHand, &s.reserved, &s.products, &s.reservations, &s.shipments, &s.picking, &s.idempotencyKeys); err != nil {
			t.Fatal(err)
		}
		return s
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
				t.Fatalf("state %+v, want %+v unchanged", after, before)
			}
		})
	}
}
