package warehouse_test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	orderevents "github.com/uberservice/uberservice/gateway/orders/events"
	gateway "github.com/uberservice/uberservice/gateway/warehouse"
	"github.com/uberservice/uberservice/modules/warehouse"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// world is the warehouse module running alone, for real, against a fresh
// database. The warehouse depends on nobody, so the tests play the orders
// context themselves: they publish its events on the test's bus.
type world struct {
	*apptest.System
	// staff and customer are the Authorization headers of a person of
	// each: staff run the store, a customer reads its products.
	staff, customer []string
}

func start(t *testing.T) world {
	t.Helper()
	return newWorld(t, apptest.Start(t, []app.Module{warehouse.Module()}, app.Config{}))
}

// newWorld is the world of sys, which runs the warehouse module.
func newWorld(t testing.TB, sys *apptest.System) world {
	t.Helper()
	return world{System: sys,
		staff:    sys.Person(t, "sam", identity.Staff),
		customer: sys.Person(t, "grace", identity.Customer)}
}

// asStaff is headers after staff's Authorization header.
func (w world) asStaff(headers ...string) []string {
	return append(slices.Clone(w.staff), headers...)
}

func (w world) url(path string) string { return w.URL(gateway.Name) + path }

// The wire shapes of the public API, spelled out here rather than borrowed
// from the module, so that the tests hold the module to the contract.

type product struct {
	SKU       string    `json:"sku"`
	Name      string    `json:"name"`
	Price     int64     `json:"price"`
	Currency  string    `json:"currency"`
	OnHand    int64     `json:"on_hand"`
	Reserved  int64     `json:"reserved"`
	Available int64     `json:"available"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type line struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

type shipment struct {
	ID        uuid.UUID `json:"id"`
	OrderID   uuid.UUID `json:"order_id"`
	Status    string    `json:"status"`
	Lines     []line    `json:"lines"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// newSKU returns a sku no other test uses.
func newSKU(prefix string) string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

func (w world) createProduct(t testing.TB, sku, name string, price int64, currency string) product {
	t.Helper()
	body := map[string]any{"sku": sku, "name": name, "price": price}
	if currency != "" {
		body["currency"] = currency
	}
	var p product
	apptest.Do(t, http.MethodPost, w.url("/v1/products"), body, w.staff...).Expect(t, http.StatusCreated).Decode(t, &p)
	return p
}

// newProduct creates a product priced price in currency with stock units on
// hand, received in as many receipts as the quantity limit needs, and returns
// its sku.
func (w world) newProduct(t *testing.T, price int64, currency string, stock int64) string {
	t.Helper()
	sku := newSKU("SKU")
	w.createProduct(t, sku, "Product "+sku, price, currency)
	for stock > 0 {
		n := min(stock, warehouse.MaxQuantity)
		w.receive(t, sku, n)
		stock -= n
	}
	return sku
}

func (w world) receive(t testing.TB, sku string, quantity int64, headers ...string) product {
	t.Helper()
	var p product
	apptest.Do(t, http.MethodPost, w.url("/v1/products/"+sku+"/stock"), map[string]int64{"quantity": quantity}, w.asStaff(headers...)...).
		Expect(t, http.StatusOK).Decode(t, &p)
	return p
}

func (w world) product(t testing.TB, sku string) product {
	t.Helper()
	var p product
	apptest.Do(t, http.MethodGet, w.url("/v1/products/"+sku), nil, w.staff...).Expect(t, http.StatusOK).Decode(t, &p)
	return p
}

// state returns a description of everything the warehouse holds, for a test
// that something changed none of it: it reads the same before and after.
func (w world) state(t testing.TB) func(t testing.TB) string {
	db := w.Schema(t, gateway.Name)
	return func(t testing.TB) string {
		t.Helper()
		var s struct{ onHand, reserved, products, reservations, shipments, picking, idempotencyKeys int64 }
		if err := db.Raw(`SELECT
			(SELECT COALESCE(sum(on_hand), 0) FROM products), (SELECT COALESCE(sum(reserved), 0) FROM products), (SELECT count(*) FROM products),
			(SELECT count(*) FROM reservations), (SELECT count(*) FROM shipments),
			(SELECT count(*) FROM shipments WHERE status = 'picking'), (SELECT count(*) FROM idempotency_keys)`).
			Row().Scan(&s.onHand, &s.reserved, &s.products, &s.reservations, &s.shipments, &s.picking, &s.idempotencyKeys); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%+v", s)
	}
}

func (w world) stock(t *testing.T, sku string) (onHand, reserved int64) {
	t.Helper()
	p := w.product(t, sku)
	if p.Available != p.OnHand-p.Reserved || p.Available < 0 {
		t.Fatalf("product %+v: available is not on hand minus reserved, or below zero", p)
	}
	return p.OnHand, p.Reserved
}

// shipments reads every page of the shipments of orderID.
func (w world) shipments(t testing.TB, orderID uuid.UUID) []shipment {
	t.Helper()
	return apptest.Items[shipment](t, w.url("/v1/shipments?order_id="+orderID.String()), w.staff...)
}

// shipmentOf returns the one shipment of an order.
func (w world) shipmentOf(t testing.TB, orderID uuid.UUID) shipment {
	t.Helper()
	list := w.shipments(t, orderID)
	if len(list) != 1 {
		t.Fatalf("order %s has %d shipments, want 1: %+v", orderID, len(list), list)
	}
	return list[0]
}

func (w world) dispatch(t testing.TB, id uuid.UUID, headers ...string) apptest.Response {
	t.Helper()
	return apptest.Do(t, http.MethodPost, w.url("/v1/shipments/"+id.String()+"/dispatch"), nil, w.asStaff(headers...)...)
}

// dispatchOrder ships an order's reserved stock the way the business does:
// the order is paid, and its shipment dispatched through the public API.
func (w world) dispatchOrder(t *testing.T, orderID uuid.UUID) {
	t.Helper()
	w.paid(t, orderID)
	w.dispatch(t, w.shipmentOf(t, orderID).ID).Expect(t, http.StatusOK)
}

// local is the module's in-process implementation of the gateway.
func (w world) local(t testing.TB) gateway.Warehouse {
	return apptest.Local(t, w.System, gateway.Gateway)
}

// service is the module's service itself, for the tests of its rules: what
// the handlers call, beyond the gateway.
func (w world) service(t testing.TB) *warehouse.Service {
	t.Helper()
	svc, ok := w.local(t).(*warehouse.Service)
	if !ok {
		t.Fatalf("the local gateway is a %T, not the module's service", w.local(t))
	}
	return svc
}

// reserve reserves lines through the local gateway for a new order and
// returns the order's id.
func (w world) reserve(t testing.TB, lines ...line) uuid.UUID {
	t.Helper()
	req := gateway.ReserveRequest{OrderID: uuid.New()}
	for _, l := range lines {
		req.Lines = append(req.Lines, gateway.Line{SKU: l.SKU, Quantity: l.Quantity})
	}
	if _, err := w.local(t).Reserve(t.Context(), req); err != nil {
		t.Fatalf("Reserve %+v: %v", req, err)
	}
	return req.OrderID
}

func encode(t testing.TB, e any) []byte {
	t.Helper()
	payload, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return payload
}

func paidPayload(t testing.TB, orderID uuid.UUID) []byte {
	return encode(t, orderevents.OrderPaid{OrderID: orderID, AccountID: uuid.New(), Currency: "USD", PaidAt: time.Now().UTC()})
}

func cancelledPayload(t testing.TB, orderID uuid.UUID) []byte {
	return encode(t, orderevents.OrderCancelled{OrderID: orderID, AccountID: uuid.New(), Currency: "USD", CancelledAt: time.Now().UTC()})
}

// paid publishes order_paid for orderID, as the orders module would.
func (w world) paid(t testing.TB, orderID uuid.UUID) {
	t.Helper()
	w.Publish(t, orderevents.OrderPaid{OrderID: orderID, AccountID: uuid.New(), Currency: "USD", PaidAt: time.Now().UTC()})
}

// cancelled publishes order_cancelled for orderID, as the orders module would.
func (w world) cancelled(t testing.TB, orderID uuid.UUID) {
	t.Helper()
	w.Publish(t, orderevents.OrderCancelled{OrderID: orderID, AccountID: uuid.New(), Currency: "USD", CancelledAt: time.Now().UTC()})
}
