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
		reservations = w.InternalURL(gateway.Name) + "/gateway/warehouse/v1/reservations"
		harness      = w.As(t, apptest.Harness, gateway.Name) // the internal API admits declared modules only
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

	cases := []apptest.BadRequest{
		{Name: "create: malformed JSON", Method: "POST", URL: products, Body: `{"sku":`, Status: 400, Code: "malformed_request"},
		{Name: "create: empty body", Method: "POST", URL: products, Status: 400, Code: "malformed_request"},
		{Name: "create: an array", Method: "POST", URL: products, Body: `[]`, Status: 400, Code: "malformed_request"},
		{Name: "create: unknown field", Method: "POST", URL: products, Body: `{"sku":"A","name":"A","price":1,"stock":5}`, Status: 400, Code: "malformed_request"},
		{Name: "create: price as a string", Method: "POST", URL: products, Body: productBody("A", "A", `"1"`, "USD"), Status: 400, Code: "malformed_request"},
		{Name: "create: price with a fraction", Method: "POST", URL: products, Body: productBody("A", "A", 1.5, "USD"), Status: 400, Code: "malformed_request"},
		{Name: "create: price past int64", Method: "POST", URL: products, Body: productBody("A", "A", "9223372036854775808", "USD"), Status: 400, Code: "malformed_request"},
		{Name: "create: sku of the wrong type", Method: "POST", URL: products, Body: `{"sku":7,"name":"A","price":1}`, Status: 400, Code: "malformed_request"},
		{Name: "create: null body", Method: "POST", URL: products, Body: `null`, Status: 422, Code: "validation_failed"},
		{Name: "create: nothing", Method: "POST", URL: products, Body: `{}`, Status: 422, Code: "validation_failed"},
		{Name: "create: no sku", Method: "POST", URL: products, Body: `{"name":"A","price":1}`, Status: 422, Code: "validation_failed"},
		{Name: "create: sku with a space", Method: "POST", URL: products, Body: productBody("A B", "A", 1, "USD"), Status: 422, Code: "validation_failed"},
		{Name: "create: sku with a slash", Method: "POST", URL: products, Body: productBody("A/B", "A", 1, "USD"), Status: 422, Code: "validation_failed"},
		{Name: "create: sku of 65 characters", Method: "POST", URL: products, Body: productBody(strings.Repeat("A", 65), "A", 1, "USD"), Status: 422, Code: "validation_failed"},
		{Name: "create: sku with a NUL", Method: "POST", URL: products, Body: `{"sku":"A\u0000","name":"A","price":1}`, Status: 422, Code: "validation_failed"},
		{Name: "create: no name", Method: "POST", URL: products, Body: `{"sku":"A","price":1}`, Status: 422, Code: "validation_failed"},
		{Name: "create: a blank name", Method: "POST", URL: products, Body: productBody("A", "   ", 1, "USD"), Status: 422, Code: "validation_failed"},
		{Name: "create: a long name", Method: "POST", URL: products, Body: productBody("A", strings.Repeat("n", 201), 1, "USD"), Status: 422, Code: "validation_failed"},
		{Name: "create: a NUL in the name", Method: "POST", URL: products, Body: `{"sku":"A","name":"A\u0000","price":1}`, Status: 422, Code: "validation_failed"},
		{Name: "create: CR LF in the name", Method: "POST", URL: products, Body: `{"sku":"A","name":"A\r\nB","price":1}`, Status: 422, Code: "validation_failed"},
		{Name: "create: a name of only a zero-width space", Method: "POST", URL: products, Body: `{"sku":"A","name":"\u200b","price":1}`, Status: 422, Code: "validation_failed"},
		{Name: "create: a right-to-left override in the name", Method: "POST", URL: products, Body: `{"sku":"A","name":"A\u202eB","price":1}`, Status: 422, Code: "validation_failed"},
		{Name: "create: a sku with a zero-width space", Method: "POST", URL: products, Body: `{"sku":"A\u200b","name":"A","price":1}`, Status: 422, Code: "validation_failed"},
		{Name: "create: no price", Method: "POST", URL: products, Body: `{"sku":"A","name":"A"}`, Status: 422, Code: "validation_failed"},
		{Name: "create: negative price", Method: "POST", URL: products, Body: productBody("A", "A", -1, "USD"), Status: 422, Code: "validation_failed"},
		{Name: "create: price over the maximum", Method: "POST", URL: products, Body: productBody("A", "A", "1000000000000001", "USD"), Status: 422, Code: "validation_failed"},
		{Name: "create: lower-case currency", Method: "POST", URL: products, Body: productBody("A", "A", 1, "usd"), Status: 422, Code: "validation_failed"},
		{Name: "create: four-letter currency", Method: "POST", URL: products, Body: productBody("A", "A", 1, "USDD"), Status: 422, Code: "validation_failed"},
		{Name: "create: unassigned currency", Method: "POST", URL: products, Body: productBody("A", "A", 1, "ZZZ"), Status: 422, Code: "validation_failed"},
		{Name: "create: the testing currency", Method: "POST", URL: products, Body: productBody("A", "A", 1, "XTS"), Status: 422, Code: "validation_failed"},
		{Name: "create: a sku that is taken", Method: "POST", URL: products, Body: productBody(sku, "Again", 1, "USD"), Status: 409, Code: "duplicate_sku"},
		{Name: "create: body over 64KB", Method: "POST", URL: products, Body: tooBig, Status: 413, Code: "body_too_large"},
		{Name: "create: not JSON content", Method: "POST", URL: products, Body: productBody("A", "A", 1, "USD"), Headers: []string{"Content-Type", "text/plain"}, Status: 415},

		{Name: "get: unknown sku", Method: "GET", URL: products + "/NOPE", Status: 404, Code: "product_not_found"},
		{Name: "get: malformed sku", Method: "GET", URL: products + "/has%20space", Status: 404, Code: "product_not_found"},
		{Name: "get: a NUL in the sku", Method: "GET", URL: products + "/A%00B", Status: 404, Code: "product_not_found"},
		{Name: "get: a long sku", Method: "GET", URL: products + "/" + strings.Repeat("A", 65), Status: 404, Code: "product_not_found"},

		{Name: "stock: malformed JSON", Method: "POST", URL: stock, Body: `{"quantity":`, Status: 400, Code: "malformed_request"},
		{Name: "stock: quantity as a string", Method: "POST", URL: stock, Body: `{"quantity":"5"}`, Status: 400, Code: "malformed_request"},
		{Name: "stock: quantity with a fraction", Method: "POST", URL: stock, Body: `{"quantity":1.5}`, Status: 400, Code: "malformed_request"},
		{Name: "stock: quantity past int64", Method: "POST", URL: stock, Body: `{"quantity":9223372036854775808}`, Status: 400, Code: "malformed_request"},
		{Name: "stock: unknown field", Method: "POST", URL: stock, Body: `{"quantity":1,"sku":"A"}`, Status: 400, Code: "malformed_request"},
		{Name: "stock: no quantity", Method: "POST", URL: stock, Body: `{}`, Status: 422, Code: "validation_failed"},
		{Name: "stock: quantity 0", Method: "POST", URL: stock, Body: `{"quantity":0}`, Status: 422, Code: "validation_failed"},
		{Name: "stock: negative quantity", Method: "POST", URL: stock, Body: `{"quantity":-5}`, Status: 422, Code: "validation_failed"},
		{Name: "stock: quantity over the maximum", Method: "POST", URL: stock, Body: `{"quantity":1000000001}`, Status: 422, Code: "validation_failed"},
		{Name: "stock: unknown sku", Method: "POST", URL: products + "/NOPE/stock", Body: `{"quantity":1}`, Status: 404, Code: "product_not_found"},
		{Name: "stock: malformed sku", Method: "POST", URL: products + "/a%20b/stock", Body: `{"quantity":1}`, Status: 404, Code: "product_not_found"},
		{Name: "stock: Idempotency-Key reused with another body", Method: "POST", URL: stock, Body: `{"quantity":2}`, Headers: []string{idempotency.Header, "delivery"}, Status: 422, Code: "idempotency_key_reused"},
		{Name: "stock: Idempotency-Key too long", Method: "POST", URL: stock, Body: `{"quantity":1}`, Headers: []string{idempotency.Header, strings.Repeat("k", 256)}, Status: 400, Code: "idempotency_key_invalid"},
		{Name: "stock: Idempotency-Key not UTF-8", Method: "POST", URL: stock, Body: `{"quantity":1}`, Headers: []string{idempotency.Header, "caf\xe9"}, Status: 400, Code: "idempotency_key_invalid"},
		{Name: "stock: Idempotency-Key empty", Method: "POST", URL: stock, Body: `{"quantity":1}`, Headers: []string{idempotency.Header, ""}, Status: 400, Code: "idempotency_key_invalid"},
		{Name: "stock: body over 64KB", Method: "POST", URL: stock, Body: tooBig, Status: 413, Code: "body_too_large"},

		{Name: "shipments: no order_id", Method: "GET", URL: shipments, Status: 422, Code: "validation_failed"},
		{Name: "shipments: empty order_id", Method: "GET", URL: shipments + "?order_id=", Status: 422, Code: "validation_failed"},
		{Name: "shipments: malformed order_id", Method: "GET", URL: shipments + "?order_id=42", Status: 422, Code: "validation_failed"},
		{Name: "shipment: malformed id", Method: "GET", URL: shipments + "/not-an-id", Status: 404, Code: "shipment_not_found"},
		{Name: "shipment: unknown id", Method: "GET", URL: shipments + "/" + unknownID, Status: 404, Code: "shipment_not_found"},
		{Name: "dispatch: unknown shipment", Method: "POST", URL: shipments + "/" + unknownID + "/dispatch", Status: 404, Code: "shipment_not_found"},
		{Name: "dispatch: malformed id", Method: "POST", URL: shipments + "/nope/dispatch", Status: 404, Code: "shipment_not_found"},
		{Name: "dispatch: a cancelled shipment", Method: "POST", URL: shipments + "/" + cancelledShipment.String() + "/dispatch", Status: 409, Code: "shipment_cancelled"},

		{Name: "reserve: malformed JSON", Method: "POST", URL: reservations, Body: `{"order_id":`, Headers: harness, Status: 400, Code: "malformed_request"},
		{Name: "reserve: malformed order id", Method: "POST", URL: reservations, Body: reserveBody("nope", one), Headers: harness, Status: 400, Code: "malformed_request"},
		{Name: "reserve: quantity as a string", Method: "POST", URL: reservations, Body: reserveBody(uuid.New(), fmt.Sprintf(`[{"sku":%q,"quantity":"1"}]`, sku)), Headers: harness, Status: 400, Code: "malformed_request"},
		{Name: "reserve: lines as an object", Method: "POST", URL: reservations, Body: reserveBody(uuid.New(), `{}`), Headers: harness, Status: 400, Code: "malformed_request"},
		{Name: "reserve: no lines", Method: "POST", URL: reservations, Body: reserveBody(uuid.New(), `[]`), Headers: harness, Status: 422, Code: "validation_failed"},
		{Name: "reserve: nil order id", Method: "POST", URL: reservations, Body: reserveBody(uuid.Nil, one), Headers: harness, Status: 422, Code: "validation_failed"},
		{Name: "reserve: quantity 0", Method: "POST", URL: reservations, Body: reserveBody(uuid.New(), fmt.Sprintf(`[{"sku":%q,"quantity":0}]`, sku)), Headers: harness, Status: 422, Code: "validation_failed"},
		{Name: "reserve: unknown sku", Method: "POST", URL: reservations, Body: reserveBody(uuid.New(), `[{"sku":"NOPE","quantity":1}]`), Headers: harness, Status: 422, Code: "unknown_sku"},
		{Name: "reserve: a NUL in the sku", Method: "POST", URL: reservations, Body: reserveBody(uuid.New(), `[{"sku":"A\u0000","quantity":1}]`), Headers: harness, Status: 422, Code: "unknown_sku"},
		{Name: "reserve: beyond the stock", Method: "POST", URL: reservations, Body: reserveBody(uuid.New(), fmt.Sprintf(`[{"sku":%q,"quantity":10}]`, sku)), Headers: harness, Status: 409, Code: "out_of_stock"},
		{Name: "reserve: other lines for a reserved order", Method: "POST", URL: reservations, Body: reserveBody(reservedOrder, fmt.Sprintf(`[{"sku":%q,"quantity":3}]`, sku)), Headers: harness, Status: 409, Code: "reservation_conflict"},
		{Name: "reserve: a released order", Method: "POST", URL: reservations, Body: reserveBody(cancelledOrder, one), Headers: harness, Status: 409, Code: "reservation_released"},
		{Name: "release: malformed order id", Method: "POST", URL: reservations + "/nope/release", Headers: harness, Status: 404, Code: "not_found"},
		{Name: "release: nil order id", Method: "POST", URL: reservations + "/" + uuid.Nil.String() + "/release", Headers: harness, Status: 422, Code: "validation_failed"},

		{Name: "unknown route", Method: "GET", URL: w.url("/v1/stock"), Status: 404, Code: "not_found"},
		{Name: "wrong method", Method: "DELETE", URL: products + "/" + sku, Status: 405},
	}

	// The public API's requests are staff's, who may make every one of
	// them: what is refused is the input, not the person.
	for i, c := range cases {
		if !strings.HasPrefix(c.URL, reservations) {
			cases[i].Headers = w.asStaff(c.Headers...)
		}
	}

	apptest.ExpectRefused(t, cases, w.state(t))
}
