package warehouse_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	orderevents "github.com/uberservice/uberservice/gateway/orders/events"
	gateway "github.com/uberservice/uberservice/gateway/warehouse"
	"github.com/uberservice/uberservice/modules/warehouse"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/messaging"
)

// world is the warehouse module running alone, for real, against a fresh
// database. The warehouse depends on nobody, so the tests play the orders
// context themselves: they publish its events on a bus of their own, which the
// runtime trusts to reach every consumer (an in-process bus it made itself
// would refuse to start a module whose producer is not in the process).
type world struct{ *apptest.System }

func start(t *testing.T) world {
	t.Helper()
	bus := messaging.NewInProcess(apptest.Logger(t))
	t.Cleanup(func() { _ = bus.Close() }) // after the system stops: cleanups run last-in first-out
	return world{apptest.Start(t, []app.Module{warehouse.Module()}, app.Config{Bus: bus})}
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
	apptest.Do(t, http.MethodPost, w.url("/v1/products"), body).Expect(t, http.StatusCreated).Decode(t, &p)
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
	apptest.Do(t, http.MethodPost, w.url("/v1/products/"+sku+"/stock"), map[string]int64{"quantity": quantity}, headers...).
		Expect(t, http.StatusOK).Decode(t, &p)
	return p
}

func (w world) product(t testing.TB, sku string) product {
	t.Helper()
	var p product
	apptest.Do(t, http.MethodGet, w.url("/v1/products/"+sku), nil).Expect(t, http.StatusOK).Decode(t, &p)
	return p
}

func (w world) stock(t *testing.T, sku string) (onHand, reserved int64) {
	t.Helper()
	p := w.product(t, sku)
	if p.Available != p.OnHand-p.Reserved || p.Available < 0 {
		t.Fatalf("product %+v: available is not on hand minus reserved, or below zero", p)
	}
	return p.OnHand, p.Reserved
}

func (w world) shipments(t testing.TB, orderID uuid.UUID) []shipment {
	t.Helper()
	var list struct {
		Items []shipment `json:"items"`
	}
	res := apptest.Do(t, http.MethodGet, w.url("/v1/shipments?order_id="+orderID.String()), nil).Expect(t, http.StatusOK)
	res.Decode(t, &list)
	if list.Items == nil {
		t.Fatalf("shipments of %s: items is not a list: %s", orderID, res.Body)
	}
	return list.Items
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
	return apptest.Do(t, http.MethodPost, w.url("/v1/shipments/"+id.String()+"/dispatch"), nil, headers...)
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
	t.Helper()
	impl, ok := w.Local(gateway.Name)
	if !ok {
		t.Fatal("the warehouse module provides no local gateway")
	}
	wh, ok := impl.(gateway.Warehouse)
	if !ok {
		t.Fatalf("the local warehouse gateway is a %T", impl)
	}
	return wh
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

// publish puts a message on the bus as the orders relay would. The in-process
// bus returns once every consumer has committed or recorded its failure, so
// the effect can be checked right after.
func (w world) publish(t testing.TB, topic, messageID string, payload []byte) {
	t.Helper()
	if err := w.Bus().Publisher().Publish(topic, message.NewMessage(messageID, payload)); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
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

// paid publishes order_paid for orderID under a new message id.
func (w world) paid(t testing.TB, orderID uuid.UUID) {
	t.Helper()
	w.publish(t, orderevents.TopicOrderPaid, uuid.NewString(), paidPayload(t, orderID))
}

// cancelled publishes order_cancelled for orderID under a new message id.
func (w world) cancelled(t testing.TB, orderID uuid.UUID) {
	t.Helper()
	w.publish(t, orderevents.TopicOrderCancelled, uuid.NewString(), cancelledPayload(t, orderID))
}

type deadLetter struct {
	ID        int64  `json:"id"`
	MessageID string `json:"message_id"`
	Handler   string `json:"handler"`
	Status    string `json:"status"`
	LastError string `json:"last_error"`
}

func (w world) deadLetters(t testing.TB) []deadLetter {
	t.Helper()
	var list struct {
		Items []deadLetter `json:"items"`
	}
	apptest.Do(t, http.MethodGet, w.url("/ops/dead-letters"), nil).Expect(t, http.StatusOK).Decode(t, &list)
	return list.Items
}

// schema opens the module's schema, for checks no API offers.
func (w world) schema(t testing.TB) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), w.DB, gateway.Name, database.PoolOptions{MaxOpen: 2})
	if err != nil {
		t.Fatalf("open the warehouse schema: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
