package warehouse_test

import (
	"bytes"
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	orderevents "github.com/uberservice/uberservice/gateway/orders/events"
	gateway "github.com/uberservice/uberservice/gateway/warehouse"
	"github.com/uberservice/uberservice/gateway/warehouse/events"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/idempotency"
)

func TestProducts(t *testing.T) {
	t.Parallel()
	w := start(t)

	t.Run("a product starts without stock, in USD by default", func(t *testing.T) {
		sku := newSKU("TEA")
		res := apptest.Do(t, http.MethodPost, w.url("/v1/products"), map[string]any{"sku": sku, "name": "  Green tea  ", "price": 450}, w.staff...).
			Expect(t, http.StatusCreated)
		var p product
		res.Decode(t, &p)
		if p.SKU != sku || p.Name != "Green tea" || p.Price != 450 || p.Currency != "USD" ||
			p.OnHand != 0 || p.Reserved != 0 || p.Available != 0 {
			t.Fatalf("created %+v", p)
		}
		if p.CreatedAt.IsZero() || p.CreatedAt.Location() != time.UTC {
			t.Errorf("created_at %v, want a UTC time", p.CreatedAt)
		}
		if got := w.product(t, sku); got != p {
			t.Errorf("GET = %+v, want %+v", got, p)
		}
		var seen product // by a customer, who reads what they may order
		apptest.Do(t, http.MethodGet, w.url("/v1/products/"+sku), nil, w.customer...).Expect(t, http.StatusOK).Decode(t, &seen)
		if seen != p {
			t.Errorf("GET as a customer = %+v, want %+v", seen, p)
		}
		// Every field of the contract is on the wire, in snake case.
		body := res.JSON(t)
		for _, f := range []string{"sku", "name", "price", "currency", "on_hand", "reserved", "available"} {
			if _, ok := body[f]; !ok {
				t.Errorf("the product has no %q: %s", f, res.Body)
			}
		}
	})

	t.Run("a free product in another currency", func(t *testing.T) {
		p := w.createProduct(t, newSKU("sample_v1.0"), "Sample", 0, "JPY")
		if p.Price != 0 || p.Currency != "JPY" {
			t.Fatalf("created %+v", p)
		}
	})

	t.Run("a sku is taken once", func(t *testing.T) {
		sku := newSKU("MUG")
		first := w.createProduct(t, sku, "Mug", 1200, "EUR")
		apptest.Do(t, http.MethodPost, w.url("/v1/products"), map[string]any{"sku": sku, "name": "Other mug", "price": 1}, w.staff...).
			ExpectProblem(t, http.StatusConflict, "duplicate_sku")
		if got := w.product(t, sku); got != first {
			t.Errorf("after a duplicate: %+v, want %+v", got, first)
		}
	})

	t.Run("goods received add to the stock on hand", func(t *testing.T) {
		sku := w.createProduct(t, newSKU("PEN"), "Pen", 99, "").SKU
		if p := w.receive(t, sku, 12); p.OnHand != 12 || p.Available != 12 || p.Reserved != 0 {
			t.Fatalf("after receiving 12: %+v", p)
		}
		w.reserve(t, line{sku, 5})
		p := w.receive(t, sku, 3)
		if p.OnHand != 15 || p.Reserved != 5 || p.Available != 10 {
			t.Fatalf("after reserving 5 and receiving 3: %+v", p)
		}
		if got := w.product(t, sku); got != p {
			t.Errorf("GET = %+v, want %+v", got, p)
		}
	})

	t.Run("an Idempotency-Key replays the first receipt and refuses another body", func(t *testing.T) {
		sku := w.createProduct(t, newSKU("BOX"), "Box", 10, "").SKU
		stock := func(quantity int64, key string) apptest.Response {
			return apptest.Do(t, http.MethodPost, w.url("/v1/products/"+sku+"/stock"), map[string]int64{"quantity": quantity}, w.asStaff(idempotency.Header, key)...)
		}
		first := stock(7, "delivery-1").Expect(t, http.StatusOK)
		again := stock(7, "delivery-1").Expect(t, http.StatusOK)
		if !bytes.Equal(first.Body, again.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay answered %s (%v), first answer was %s", again.Body, again.Header, first.Body)
		}
		stock(8, "delivery-1").ExpectProblem(t, http.StatusUnprocessableEntity, "idempotency_key_reused")
		stock(1, "delivery-2").Expect(t, http.StatusOK)
		if p := w.product(t, sku); p.OnHand != 8 {
			t.Fatalf("on hand %d, want 7 + 1", p.OnHand)
		}
	})

	t.Run("stock on hand that would overflow is refused", func(t *testing.T) {
		sku := w.newProduct(t, 1, "USD", 1)
		if err := w.Schema(t, gateway.Name).Exec(`UPDATE products SET on_hand = ? WHERE sku = ?`, int64(math.MaxInt64-10), sku).Error; err != nil {
			t.Fatal(err)
		}
		apptest.Do(t, http.MethodPost, w.url("/v1/products/"+sku+"/stock"), map[string]int64{"quantity": 11}, w.staff...).
			ExpectProblem(t, http.StatusUnprocessableEntity, "stock_limit")
		if p := w.receive(t, sku, 10); p.OnHand != math.MaxInt64 {
			t.Fatalf("on hand %d, want %d", p.OnHand, int64(math.MaxInt64))
		}
	})
}

// TestShipmentLifecycle follows an order through the warehouse: its stock is
// reserved, it is paid and picked, and its shipment dispatched, once.
func TestShipmentLifecycle(t *testing.T) {
	t.Parallel()
	w := start(t)
	dispatched := w.Subscribe(t, events.TopicShipmentDispatched)[events.TopicShipmentDispatched]

	tea := w.newProduct(t, 450, "USD", 10)
	cups := w.newProduct(t, 1200, "USD", 3)
	order := w.reserve(t, line{tea, 2}, line{cups, 3})
	if list := w.shipments(t, order); len(list) != 0 {
		t.Fatalf("shipments before payment: %+v", list)
	}

	w.paid(t, order)
	sh := w.shipmentOf(t, order)
	want := []line{{tea, 2}, {cups, 3}}
	slices.SortFunc(want, func(a, b line) int { return strings.Compare(a.SKU, b.SKU) })
	if sh.ID == uuid.Nil || sh.OrderID != order || sh.Status != "picking" || !slices.Equal(sh.Lines, want) || sh.CreatedAt.IsZero() {
		t.Fatalf("shipment = %+v, want picking %+v", sh, want)
	}
	var got shipment
	apptest.Do(t, http.MethodGet, w.url("/v1/shipments/"+sh.ID.String()), nil, w.staff...).Expect(t, http.StatusOK).Decode(t, &got)
	if got.ID != sh.ID || got.Status != sh.Status || !slices.Equal(got.Lines, sh.Lines) {
		t.Errorf("GET shipment = %+v, want %+v", got, sh)
	}
	wantStock(t, w, tea, 10, 2)

	var out shipment
	w.dispatch(t, sh.ID, correlation.Header, "req-dispatch").Expect(t, http.StatusOK).Decode(t, &out)
	if out.ID != sh.ID || out.Status != "dispatched" || !slices.Equal(out.Lines, sh.Lines) || out.UpdatedAt.Before(sh.UpdatedAt) {
		t.Fatalf("dispatched = %+v", out)
	}
	wantStock(t, w, tea, 8, 0)
	wantStock(t, w, cups, 0, 0)

	var e events.ShipmentDispatched
	apptest.Receive(t, dispatched, "req-dispatch", &e)
	wantLines := make([]events.Line, len(want))
	for i, l := range want {
		wantLines[i] = events.Line{SKU: l.SKU, Quantity: l.Quantity}
	}
	if e.ShipmentID != sh.ID || e.OrderID != order || !slices.Equal(e.Lines, wantLines) || !e.DispatchedAt.Equal(out.UpdatedAt) {
		t.Errorf("shipment_dispatched = %+v, want shipment %s of order %s, lines %+v, at %v", e, sh.ID, order, wantLines, out.UpdatedAt)
	}

	t.Log("dispatching again answers the shipment unchanged, and tells nobody")
	var again shipment
	w.dispatch(t, sh.ID).Expect(t, http.StatusOK).Decode(t, &again)
	if again.Status != "dispatched" || !again.UpdatedAt.Equal(out.UpdatedAt) {
		t.Errorf("dispatched again = %+v, want %+v", again, out)
	}
	wantStock(t, w, tea, 8, 0)
	select {
	case msg := <-dispatched:
		msg.Ack()
		t.Errorf("a second dispatch published %s", msg.Payload)
	case <-time.After(200 * time.Millisecond):
	}

	t.Log("the stock has left: it can no longer be released, and a late cancellation leaves the shipment dispatched")
	if err := w.local(t).Release(t.Context(), order); !errors.Is(err, gateway.ErrAlreadyDispatched) {
		t.Errorf("Release after dispatch: %v, want ErrAlreadyDispatched", err)
	}
	w.cancelled(t, order)
	if sh := w.shipmentOf(t, order); sh.Status != "dispatched" {
		t.Errorf("shipment after a late cancellation = %+v", sh)
	}
	wantStock(t, w, tea, 8, 0)
	if dls := w.DeadLetters(t, gateway.Name); len(dls) != 0 {
		t.Errorf("dead letters = %+v, want none", dls)
	}
}

// TestCancellation: a cancelled order's picking shipment is cancelled and its
// stock goes back, whether the cancellation comes as an event or as a Release,
// and a cancelled shipment cannot be dispatched.
func TestCancellation(t *testing.T) {
	t.Parallel()
	w := start(t)

	t.Run("order_cancelled cancels the shipment and gives the stock back", func(t *testing.T) {
		sku := w.newProduct(t, 100, "USD", 10)
		order := w.reserve(t, line{sku, 4})
		w.paid(t, order)
		sh := w.shipmentOf(t, order)
		msgID := uuid.NewString()
		w.Deliver(t, orderevents.TopicOrderCancelled, msgID, cancelledPayload(t, order))
		if got := w.shipmentOf(t, order); got.Status != "cancelled" || got.ID != sh.ID {
			t.Fatalf("shipment after order_cancelled = %+v", got)
		}
		wantStock(t, w, sku, 10, 0)

		w.dispatch(t, sh.ID).ExpectProblem(t, http.StatusConflict, "shipment_cancelled")
		wantStock(t, w, sku, 10, 0)

		// Redelivered, under its id or another: nothing more happens.
		w.Deliver(t, orderevents.TopicOrderCancelled, msgID, cancelledPayload(t, order))
		w.cancelled(t, order)
		wantStock(t, w, sku, 10, 0)
		_, err := w.local(t).Reserve(t.Context(), gateway.ReserveRequest{OrderID: order, Lines: []gateway.Line{{SKU: sku, Quantity: 4}}})
		if !errors.Is(err, gateway.ErrReservationReleased) {
			t.Errorf("Reserve of a cancelled order: %v, want ErrReservationReleased", err)
		}
	})

	t.Run("Release cancels a picking shipment", func(t *testing.T) {
		sku := w.newProduct(t, 100, "USD", 10)
		order := w.reserve(t, line{sku, 6})
		w.paid(t, order)
		if err := w.local(t).Release(t.Context(), order); err != nil {
			t.Fatalf("Release: %v", err)
		}
		if got := w.shipmentOf(t, order); got.Status != "cancelled" {
			t.Fatalf("shipment after Release = %+v", got)
		}
		wantStock(t, w, sku, 10, 0)
		w.cancelled(t, order) // the event that follows the saga's Release changes nothing
		wantStock(t, w, sku, 10, 0)
	})

	t.Run("order_cancelled without a payment releases the stock", func(t *testing.T) {
		sku := w.newProduct(t, 100, "USD", 10)
		order := w.reserve(t, line{sku, 2})
		w.cancelled(t, order)
		wantStock(t, w, sku, 10, 0)
		if list := w.shipments(t, order); len(list) != 0 {
			t.Errorf("shipments = %+v, want none", list)
		}
	})

	t.Run("order_cancelled of an order unknown here is no failure", func(t *testing.T) {
		w.cancelled(t, uuid.New())
	})

	if dls := w.DeadLetters(t, gateway.Name); len(dls) != 0 {
		t.Errorf("dead letters = %+v, want none", dls)
	}
}

// TestOrderPaid: one shipment per order whatever the redeliveries, and an
// order_paid that arrives after the order was cancelled still leaves it
// cancelled.
func TestOrderPaid(t *testing.T) {
	t.Parallel()
	w := start(t)

	t.Run("redelivered, it makes one shipment", func(t *testing.T) {
		sku := w.newProduct(t, 100, "USD", 5)
		order := w.reserve(t, line{sku, 1})
		msgID := uuid.NewString()
		w.Deliver(t, orderevents.TopicOrderPaid, msgID, paidPayload(t, order))
		w.Deliver(t, orderevents.TopicOrderPaid, msgID, paidPayload(t, order))
		w.Deliver(t, orderevents.TopicOrderPaid, uuid.NewString(), paidPayload(t, order))
		first := w.shipmentOf(t, order)
		w.dispatch(t, first.ID).Expect(t, http.StatusOK)
		w.paid(t, order)
		if sh := w.shipmentOf(t, order); sh.ID != first.ID || sh.Status != "dispatched" {
			t.Errorf("shipment after a redelivery past dispatch = %+v", sh)
		}
		wantStock(t, w, sku, 4, 0)
	})

	t.Run("after the order's stock was released, the shipment is cancelled at once", func(t *testing.T) {
		sku := w.newProduct(t, 100, "USD", 5)
		order := w.reserve(t, line{sku, 3})
		if err := w.local(t).Release(t.Context(), order); err != nil {
			t.Fatal(err)
		}
		w.paid(t, order)
		sh := w.shipmentOf(t, order)
		if sh.Status != "cancelled" || len(sh.Lines) != 1 {
			t.Fatalf("shipment of a released order = %+v", sh)
		}
		w.dispatch(t, sh.ID).ExpectProblem(t, http.StatusConflict, "shipment_cancelled")
		wantStock(t, w, sku, 5, 0)
	})

	t.Run("an order without a reservation here gets no shipment", func(t *testing.T) {
		order := uuid.New()
		w.paid(t, order)
		if list := w.shipments(t, order); len(list) != 0 {
			t.Errorf("shipments = %+v, want none", list)
		}
	})

	if dls := w.DeadLetters(t, gateway.Name); len(dls) != 0 {
		t.Errorf("dead letters = %+v, want none", dls)
	}

	t.Run("a payload no handler can apply is a dead letter at once", func(t *testing.T) {
		poison, anonymous := uuid.NewString(), uuid.NewString()
		w.Deliver(t, orderevents.TopicOrderPaid, poison, []byte(`{"order_id": 42`))
		w.Deliver(t, orderevents.TopicOrderCancelled, anonymous, cancelledPayload(t, uuid.Nil))
		dead := map[string]apptest.DeadLetter{}
		for _, dl := range w.DeadLetters(t, gateway.Name) {
			dead[dl.MessageID] = dl
		}
		if dl := dead[poison]; dl.Status != "dead" || dl.Handler != "warehouse."+orderevents.TopicOrderPaid {
			t.Errorf("dead letter of the poison message = %+v", dl)
		}
		if dl := dead[anonymous]; dl.Status != "dead" || dl.Handler != "warehouse."+orderevents.TopicOrderCancelled {
			t.Errorf("dead letter of an event without an order = %+v", dl)
		}
	})
}

func wantStock(t *testing.T, w world, sku string, onHand, reserved int64) {
	t.Helper()
	gotOnHand, gotReserved := w.stock(t, sku)
	if gotOnHand != onHand || gotReserved != reserved {
		t.Fatalf("%s: %d on hand, %d reserved; want %d, %d", sku, gotOnHand, gotReserved, onHand, reserved)
	}
}
