package orders_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	accountsgw "github.com/uberservice/uberservice/gateway/accounts"
	ordersgw "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/gateway/orders/events"
	whevents "github.com/uberservice/uberservice/gateway/warehouse/events"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/messaging"
)

// An order's whole life: placed and paid at once (stock reserved, account
// debited, order_paid), picked, dispatched and shipped; a second order
// cancelled while being picked, refunded and its stock given back; and the
// cancellations that cannot be.
func TestOrderLifecycle(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	seen := observe(t, w, events.All...)
	book := w.newProduct(t, 1250, "USD", 10)
	pen := w.newProduct(t, 300, "USD", 5)
	account := w.newAccount(t, "USD", 10_000)

	o := w.placed(t, account, line{SKU: pen, Quantity: 3}, line{SKU: book, Quantity: 2})
	if o.Status != ordersgw.StatusPaid || o.RejectReason != nil || o.AccountID != account.ID || o.Customer != account.owner.subject {
		t.Fatalf("order = %+v, want paid on account %s, placed by %s", o, account.ID, account.owner.subject)
	}
	if o.Total != 3400 || o.Currency != "USD" {
		t.Errorf("total %d %s, want 3400 USD (2 × 1250 + 3 × 300)", o.Total, o.Currency)
	}
	wantLine := func(o ordersgw.Order, sku string, quantity, price int64) {
		t.Helper()
		i := slices.IndexFunc(o.Lines, func(l ordersgw.Line) bool { return l.SKU == sku })
		if i < 0 || o.Lines[i] != (ordersgw.Line{SKU: sku, Quantity: quantity, UnitPrice: price, LineTotal: quantity * price}) {
			t.Errorf("lines %+v, want %d × %s at %d", o.Lines, quantity, sku, price)
		}
	}
	wantLine(o, book, 2, 1250)
	wantLine(o, pen, 3, 300)
	if len(o.Lines) != 2 || o.CreatedAt.IsZero() || o.UpdatedAt.Before(o.CreatedAt) {
		t.Errorf("order = %+v, want two lines and its times", o)
	}
	if got := w.order(t, o.ID); got.Status != o.Status || got.Total != o.Total || !got.UpdatedAt.Equal(o.UpdatedAt) {
		t.Errorf("GET = %+v, want the order as placed %+v", got, o)
	}
	if b := w.balance(t, account); b != 6600 {
		t.Errorf("balance %d, want 6600", b)
	}
	w.wantCharged(t, account, o.ID, 3400)
	w.wantStock(t, book, 10, 2)
	w.wantStock(t, pen, 5, 3)
	awaitEvent(t, seen, events.TopicOrderPaid, func(e events.OrderPaid) bool {
		return e.OrderID == o.ID && e.AccountID == account.ID && e.Total == 3400 && e.Currency == "USD" && len(e.Lines) == 2
	})

	// The warehouse picks it on order_paid; its dispatch ships the order.
	sh := w.shipmentOf(t, o.ID, "picking")
	w.dispatch(t, sh.ID).Expect(t, http.StatusOK)
	shipped := w.awaitStatus(t, o.ID, ordersgw.StatusShipped, 10*time.Second)
	if shipped.Total != 3400 || shipped.UpdatedAt.Before(o.UpdatedAt) {
		t.Errorf("shipped order = %+v", shipped)
	}
	awaitEvent(t, seen, events.TopicOrderShipped, func(e events.OrderShipped) bool {
		return e.OrderID == o.ID && e.ShipmentID == sh.ID && !e.ShippedAt.IsZero()
	})
	w.wantStock(t, book, 8, 0)
	w.wantStock(t, pen, 2, 0)
	w.cancel(t, account.owner, o.ID).ExpectProblem(t, http.StatusConflict, "not_cancellable")
	if got := w.order(t, o.ID); got.Status != ordersgw.StatusShipped {
		t.Errorf("a refused cancellation changed the order: %+v", got)
	}

	// A second order, cancelled while it is being picked.
	second := w.placed(t, account, line{SKU: book, Quantity: 1})
	if second.Status != ordersgw.StatusPaid {
		t.Fatalf("second order = %+v, want paid", second)
	}
	w.shipmentOf(t, second.ID, "picking")
	w.wantStock(t, book, 8, 1)
	var cancelled ordersgw.Order
	w.cancel(t, account.owner, second.ID).Expect(t, http.StatusOK).Decode(t, &cancelled)
	if cancelled.ID != second.ID || cancelled.Status != ordersgw.StatusCancelled || cancelled.Total != 1250 {
		t.Fatalf("cancelled = %+v, want the order cancelled", cancelled)
	}
	if b := w.balance(t, account); b != 6600 {
		t.Errorf("balance after the refund %d, want 6600 again", b)
	}
	if credits := w.movements(t, account, accountsgw.KindCredit, second.ID); len(credits) != 1 || credits[0].Amount != 1250 {
		t.Errorf("refunds of the cancelled order: %+v, want one of 1250", credits)
	}
	w.wantStock(t, book, 8, 0)
	cancelledShipment := w.shipmentOf(t, second.ID, "cancelled")
	awaitEvent(t, seen, events.TopicOrderCancelled, func(e events.OrderCancelled) bool {
		return e.OrderID == second.ID && e.AccountID == account.ID && e.Refunded == 1250 && e.Currency == "USD"
	})
	w.dispatch(t, cancelledShipment.ID).ExpectProblem(t, http.StatusConflict, "")

	// Cancelling again answers the cancelled order, unchanged, with no second refund.
	var again ordersgw.Order
	w.cancel(t, account.owner, second.ID).Expect(t, http.StatusOK).Decode(t, &again)
	if again.Status != ordersgw.StatusCancelled || !again.UpdatedAt.Equal(cancelled.UpdatedAt) {
		t.Errorf("second cancellation = %+v, want %+v unchanged", again, cancelled)
	}
	if credits := w.movements(t, account, accountsgw.KindCredit, second.ID); len(credits) != 1 {
		t.Errorf("refunds after cancelling twice: %+v, want one", credits)
	}

	// A rejected order cannot be cancelled either.
	poor := w.newAccount(t, "USD", 10)
	rejected := w.placed(t, poor, line{SKU: book, Quantity: 1})
	wantRejected(t, rejected, ordersgw.RejectInsufficientFunds)
	w.cancel(t, poor.owner, rejected.ID).ExpectProblem(t, http.StatusConflict, "not_cancellable")

	// The account's orders, newest first, as its holder and as staff see them.
	for who, header := range map[string][]string{"the customer": account.owner.header, "staff": w.staff} {
		list := w.ordersOf(t, account.ID, header)
		if len(list) != 2 || list[0].ID != second.ID || list[1].ID != o.ID ||
			list[0].Status != ordersgw.StatusCancelled || list[1].Status != ordersgw.StatusShipped {
			t.Errorf("orders of the account as %s = %+v, want the cancelled one, then the shipped one", who, list)
		}
	}
	if list := w.ordersOf(t, uuid.New(), account.owner.header); list == nil || len(list) != 0 {
		t.Errorf("orders of an account without any = %+v, want an empty list", list)
	}
	if dls := w.DeadLetters(t, ordersgw.Name); len(dls) != 0 {
		t.Errorf("dead letters: %+v", dls)
	}
}

// A shipment_dispatched event delivered again, under another message id, or
// naming an order orders does not know, changes nothing and fails nothing.
func TestShipmentDispatchedIsAppliedOnce(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	seen := observe(t, w, events.TopicOrderShipped)
	sku := w.newProduct(t, 100, "USD", 5)
	account := w.newAccount(t, "USD", 1000)
	o := w.placed(t, account, line{SKU: sku, Quantity: 1})
	sh := w.shipmentOf(t, o.ID, "picking")
	w.dispatch(t, sh.ID).Expect(t, http.StatusOK)
	shipped := w.awaitStatus(t, o.ID, ordersgw.StatusShipped, 10*time.Second)

	again := whevents.ShipmentDispatched{ShipmentID: sh.ID, OrderID: o.ID, DispatchedAt: time.Now().UTC()}
	w.Publish(t, again)
	w.Publish(t, whevents.ShipmentDispatched{ShipmentID: uuid.New(), OrderID: uuid.New(), DispatchedAt: time.Now().UTC()})
	if got := w.order(t, o.ID); got.Status != ordersgw.StatusShipped || !got.UpdatedAt.Equal(shipped.UpdatedAt) {
		t.Errorf("order after a second dispatch = %+v, want %+v unchanged", got, shipped)
	}
	awaitEvent(t, seen, events.TopicOrderShipped, func(e events.OrderShipped) bool { return e.OrderID == o.ID })

	// A rejected order does not become shipped, whatever the event says.
	rejected := w.placed(t, w.noAccount(t), line{SKU: sku, Quantity: 1})
	wantRejected(t, rejected, ordersgw.RejectUnknownAccount)
	w.Publish(t, whevents.ShipmentDispatched{ShipmentID: uuid.New(), OrderID: rejected.ID, DispatchedAt: time.Now().UTC()})
	if got := w.order(t, rejected.ID); got.Status != ordersgw.StatusRejected {
		t.Errorf("rejected order after a dispatch = %+v", got)
	}
	if dls := w.DeadLetters(t, ordersgw.Name); len(dls) != 0 {
		t.Errorf("dead letters: %+v", dls)
	}
}

// Every reason to reject an order is reachable, and a rejected order holds no
// stock and cost nothing.
func TestRejections(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	seen := observe(t, w, events.TopicOrderRejected)

	cases := []struct {
		name    string
		arrange func(t *testing.T) (a account, lines []line, skus []string)
		reason  string
	}{
		{"an unknown account", func(t *testing.T) (account, []line, []string) {
			sku := w.newProduct(t, 500, "USD", 10)
			return w.noAccount(t), []line{{sku, 1}}, []string{sku}
		}, ordersgw.RejectUnknownAccount},
		{"a free product for an unknown account", func(t *testing.T) (account, []line, []string) {
			sku := w.newProduct(t, 0, "USD", 10)
			return w.noAccount(t), []line{{sku, 1}}, []string{sku}
		}, ordersgw.RejectUnknownAccount},
		{"an unknown SKU", func(t *testing.T) (account, []line, []string) {
			sku := w.newProduct(t, 500, "USD", 10)
			return w.newAccount(t, "USD", 10_000), []line{{sku, 1}, {unique("NOPE"), 1}}, []string{sku}
		}, ordersgw.RejectUnknownSKU},
		{"a SKU the warehouse cannot even spell", func(t *testing.T) (account, []line, []string) {
			return w.newAccount(t, "USD", 10_000), []line{{"no such product!", 1}}, nil
		}, ordersgw.RejectUnknownSKU},
		{"too little stock of one line", func(t *testing.T) (account, []line, []string) {
			plenty, scarce := w.newProduct(t, 500, "USD", 10), w.newProduct(t, 500, "USD", 1)
			return w.newAccount(t, "USD", 10_000), []line{{plenty, 3}, {scarce, 2}}, []string{plenty, scarce}
		}, ordersgw.RejectOutOfStock},
		{"insufficient funds", func(t *testing.T) (account, []line, []string) {
			sku := w.newProduct(t, 500, "USD", 10)
			return w.newAccount(t, "USD", 999), []line{{sku, 2}}, []string{sku}
		}, ordersgw.RejectInsufficientFunds},
		{"a product in EUR for a USD account", func(t *testing.T) (account, []line, []string) {
			sku := w.newProduct(t, 500, "EUR", 10)
			return w.newAccount(t, "USD", 10_000), []line{{sku, 1}}, []string{sku}
		}, ordersgw.RejectCurrencyMismatch},
		{"products in two currencies", func(t *testing.T) (account, []line, []string) {
			usd, eur := w.newProduct(t, 500, "USD", 10), w.newProduct(t, 500, "EUR", 10)
			return w.newAccount(t, "USD", 10_000), []line{{usd, 1}, {eur, 1}}, []string{usd, eur}
		}, ordersgw.RejectCurrencyMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			acc, lines, skus := c.arrange(t)
			before := map[string]product{}
			for _, sku := range skus {
				before[sku] = w.product(t, sku)
			}
			var balance int64
			if c.reason != ordersgw.RejectUnknownAccount {
				balance = w.balance(t, acc)
			}

			var o ordersgw.Order
			w.place(t, acc, lines).Expect(t, http.StatusCreated).Decode(t, &o)
			wantRejected(t, o, c.reason)
			if got := w.order(t, o.ID); got.Status != ordersgw.StatusRejected || *got.RejectReason != c.reason {
				t.Errorf("GET = %+v, want it rejected for %s", got, c.reason)
			}
			for _, sku := range skus {
				w.wantStock(t, sku, before[sku].OnHand, before[sku].Reserved)
			}
			if c.reason != ordersgw.RejectUnknownAccount {
				if b := w.balance(t, acc); b != balance {
					t.Errorf("balance %d, want %d untouched", b, balance)
				}
				w.wantCharged(t, acc, o.ID, 0)
			}
			awaitEvent(t, seen, events.TopicOrderRejected, func(e events.OrderRejected) bool {
				return e.OrderID == o.ID && e.AccountID == acc.ID && e.Reason == c.reason
			})
			w.cancel(t, acc.owner, o.ID).ExpectProblem(t, http.StatusConflict, "not_cancellable")
		})
	}

	t.Run("the same currency on both sides is paid", func(t *testing.T) {
		t.Parallel()
		sku := w.newProduct(t, 500, "EUR", 10)
		account := w.newAccount(t, "EUR", 10_000)
		o := w.placed(t, account, line{SKU: sku, Quantity: 2})
		if o.Status != ordersgw.StatusPaid || o.Currency != "EUR" || o.Total != 1000 {
			t.Fatalf("order = %+v, want paid 1000 EUR", o)
		}
		w.wantCharged(t, account, o.ID, 1000)
	})

	t.Run("a free order is paid without a debit", func(t *testing.T) {
		t.Parallel()
		sku := w.newProduct(t, 0, "USD", 10)
		account := w.newAccount(t, "USD", 0)
		o := w.placed(t, account, line{SKU: sku, Quantity: 3})
		if o.Status != ordersgw.StatusPaid || o.Total != 0 {
			t.Fatalf("order = %+v, want paid, total 0", o)
		}
		w.wantCharged(t, account, o.ID, 0)
		w.wantStock(t, sku, 10, 3)
		w.shipmentOf(t, o.ID, "picking")
		w.cancel(t, account.owner, o.ID).Expect(t, http.StatusOK)
		w.wantStock(t, sku, 10, 0)
		if credits := w.movements(t, account, accountsgw.KindCredit, o.ID); len(credits) != 0 {
			t.Errorf("a free order was refunded %+v", credits)
		}
	})
}

// A cancellation that reaches the warehouse after the shipment left, before
// the dispatch event has reached orders, is refused (409) and leaves the order
// paid, unrefunded, for the event to make it shipped.
func TestCancelAfterDispatchIsRefused(t *testing.T) {
	t.Parallel()
	bus := &heldBus{Bus: messaging.NewInProcess(apptest.Logger(t)), held: whevents.TopicShipmentDispatched, gate: make(chan struct{})}
	t.Cleanup(func() { _ = bus.Close() }) // after the system stops: cleanups run last-in first-out
	w := start(t, app.Config{Bus: bus})
	t.Cleanup(bus.release) // before the system stops, so the warehouse's relay can finish
	sku := w.newProduct(t, 400, "USD", 5)
	account := w.newAccount(t, "USD", 1000)
	o := w.placed(t, account, line{sku, 2})
	sh := w.shipmentOf(t, o.ID, "picking")
	w.dispatch(t, sh.ID).Expect(t, http.StatusOK)

	w.cancel(t, account.owner, o.ID).ExpectProblem(t, http.StatusConflict, "not_cancellable")
	if got := w.order(t, o.ID); got.Status != ordersgw.StatusPaid {
		t.Fatalf("order after a refused cancellation = %+v, want it still paid", got)
	}
	if credits := w.movements(t, account, accountsgw.KindCredit, o.ID); len(credits) != 0 {
		t.Fatalf("a refused cancellation refunded %+v", credits)
	}
	w.wantStock(t, sku, 3, 0)

	bus.release()
	w.awaitStatus(t, o.ID, ordersgw.StatusShipped, 10*time.Second)
	w.cancel(t, account.owner, o.ID).ExpectProblem(t, http.StatusConflict, "not_cancellable")
	var unfinished int
	if err := w.Schema(t, ordersgw.Name).Raw(`SELECT count(*) FROM orders WHERE saga_step <> 'done' OR lease_token IS NOT NULL`).
		Row().Scan(&unfinished); err != nil {
		t.Fatal(err)
	}
	if unfinished != 0 {
		t.Errorf("%d orders have a saga left over", unfinished)
	}
}

// heldBus is an in-process bus that holds one topic's messages on their way
// to the orders module until released: an event in flight, for as long as a
// test needs.
type heldBus struct {
	messaging.Bus
	held string
	gate chan struct{}
	once sync.Once
}

func (b *heldBus) release() { b.once.Do(func() { close(b.gate) }) }

// Subscriber implements messaging.Bus.
func (b *heldBus) Subscriber(group string) (message.Subscriber, error) {
	sub, err := b.Bus.Subscriber(group)
	if err != nil || group != ordersgw.Name {
		return sub, err
	}
	return heldSubscriber{Subscriber: sub, bus: b}, nil
}

type heldSubscriber struct {
	message.Subscriber
	bus *heldBus
}

// Subscribe implements message.Subscriber.
func (s heldSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	in, err := s.Subscriber.Subscribe(ctx, topic)
	if err != nil || topic != s.bus.held {
		return in, err
	}
	out := make(chan *message.Message)
	go func() {
		defer close(out)
		for msg := range in {
			<-s.bus.gate
			out <- msg
		}
	}()
	return out, nil
}
