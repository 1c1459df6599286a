package warehouse_test

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	orderevents "github.com/uberservice/uberservice/gateway/orders/events"
	gateway "github.com/uberservice/uberservice/gateway/warehouse"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/httpclient"
)

// TestConcurrentReservations races more reservations than the stock can
// serve: exactly as many succeed as there are units, the rest are refused,
// and nothing is oversold.
func TestConcurrentReservations(t *testing.T) {
	t.Parallel()
	w := start(t)
	const (
		stock    = 7
		requests = 40
	)
	remote := apptest.Remote(w.System, gateway.Gateway, httpclient.Options{})
	for name, impl := range map[string]gateway.Warehouse{"through the local gateway": w.local(t), "over HTTP": remote} {
		t.Run(name, func(t *testing.T) {
			sku := w.newProduct(t, 100, "USD", stock)
			errs := apptest.Race(requests, func(int) error {
				_, err := impl.Reserve(t.Context(), gateway.ReserveRequest{OrderID: uuid.New(), Lines: []gateway.Line{{SKU: sku, Quantity: 1}}})
				return err
			})
			reserved, refused := 0, 0
			for _, err := range errs {
				switch {
				case err == nil:
					reserved++
				case errors.Is(err, gateway.ErrOutOfStock):
					refused++
				default:
					t.Fatalf("Reserve: %v", err)
				}
			}
			if reserved != stock || refused != requests-stock {
				t.Fatalf("%d reserved, %d refused; want %d and %d", reserved, refused, stock, requests-stock)
			}
			wantStock(t, w, sku, stock, stock)
			wantConsistent(t, w)
		})
	}
}

// TestConcurrentTraffic runs everything an order can do to stock at once, over
// products that overlap: multi-line reservations whose lines come in any order,
// releases, payments, cancellations and dispatches, and a Release racing the
// dispatch of the same order. Nothing deadlocks, nothing but stock runs out,
// and afterwards every product's counts agree with the reservations.
func TestConcurrentTraffic(t *testing.T) {
	t.Parallel()
	w := start(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, seed))

	const (
		products = 6
		stock    = 25
		orders   = 60
	)
	skus := make([]string, products)
	for i := range skus {
		skus[i] = w.newProduct(t, int64(100*(i+1)), "USD", stock)
	}
	randomOrder := func() gateway.ReserveRequest {
		req := gateway.ReserveRequest{OrderID: uuid.New()}
		for _, i := range rnd.Perm(products)[:2+rnd.IntN(3)] {
			req.Lines = append(req.Lines, gateway.Line{SKU: skus[i], Quantity: 1 + rnd.Int64N(3)})
		}
		return req
	}
	local := w.local(t)
	reserveAll := func(reqs []gateway.ReserveRequest) []uuid.UUID {
		errs := apptest.Race(len(reqs), func(i int) error {
			_, err := local.Reserve(t.Context(), reqs[i])
			return err
		})
		var ok []uuid.UUID
		for i, err := range errs {
			switch {
			case err == nil:
				ok = append(ok, reqs[i].OrderID)
			case !errors.Is(err, gateway.ErrOutOfStock):
				t.Errorf("Reserve %+v: %v", reqs[i], err)
			}
		}
		return ok
	}

	first := make([]gateway.ReserveRequest, orders)
	for i := range first {
		first[i] = randomOrder()
	}
	reserved := reserveAll(first)
	if len(reserved) == 0 || len(reserved) == orders {
		t.Fatalf("%d of %d orders reserved; the test wants some to run out of stock", len(reserved), orders)
	}
	wantConsistent(t, w)

	// Every other order is paid first, so that it has a shipment to dispatch or
	// to cancel.
	for _, o := range reserved[:len(reserved)/2] {
		w.paid(t, o)
	}
	second := make([]gateway.ReserveRequest, orders/2)
	for i := range second {
		second[i] = randomOrder()
	}
	shipments := map[uuid.UUID]uuid.UUID{} // order -> its shipment
	for _, o := range reserved[:len(reserved)/2] {
		shipments[o] = w.shipmentOf(t, o).ID
	}
	var wg sync.WaitGroup
	wg.Go(func() { reserveAll(second) })
	for i, o := range reserved {
		shipment, paid := shipments[o]
		wg.Go(func() {
			switch {
			case !paid && i%2 == 0:
				if err := local.Release(t.Context(), o); err != nil {
					t.Errorf("Release %s: %v", o, err)
				}
			case !paid || i%3 == 0:
				if err := w.Bus().Publisher().Publish(orderevents.TopicOrderCancelled,
					message.NewMessage(uuid.NewString(), cancelledPayload(t, o))); err != nil {
					t.Errorf("publish order_cancelled: %v", err)
				}
			default:
				raceReleaseAndDispatch(t, w, local, o, shipment)
			}
		})
	}
	wg.Wait()
	for sku, n := range wantConsistent(t, w) {
		if n != stock {
			t.Errorf("%s: on hand and dispatched add up to %d, want the %d received", sku, n, stock)
		}
	}
	if dls := w.DeadLetters(t, gateway.Name); len(dls) != 0 {
		t.Errorf("dead letters = %+v, want none", dls)
	}
}

// raceReleaseAndDispatch releases a paid order while its shipment is being
// dispatched: exactly one of them wins, and the loser says why.
func raceReleaseAndDispatch(t *testing.T, w world, local gateway.Warehouse, order, shipment uuid.UUID) {
	var (
		releaseErr error
		status     int
		wg         sync.WaitGroup
	)
	wg.Go(func() { releaseErr = local.Release(t.Context(), order) })
	wg.Go(func() {
		// Not apptest.Do, which fails the test from this goroutine.
		req, err := apptest.NewRequest(http.MethodPost, w.url("/v1/shipments/"+shipment.String()+"/dispatch"), nil, w.staff...)
		if err != nil {
			t.Errorf("dispatch %s: %v", shipment, err)
			return
		}
		res, err := apptest.Send(http.DefaultClient, req.WithContext(t.Context()))
		if err != nil {
			t.Errorf("dispatch %s: %v", shipment, err)
			return
		}
		status = res.Status
	})
	wg.Wait()
	switch {
	case releaseErr == nil && status == http.StatusConflict:
	case errors.Is(releaseErr, gateway.ErrAlreadyDispatched) && status == http.StatusOK:
	default:
		t.Errorf("order %s: Release %v and dispatch %d; want exactly one to win", order, releaseErr, status)
	}
}

// wantConsistent checks the stock of every product against the reservations:
// reserved is what reserved reservations hold, on hand is what was received
// less what dispatched ones took, available never goes below zero, and the
// public API reports the same. Every shipment agrees with its reservation.
// It returns how many units of each product were ever received.
func wantConsistent(t *testing.T, w world) (received map[string]int64) {
	t.Helper()
	var rows []struct {
		SKU      string
		OnHand   int64
		Reserved int64
		Received int64 // on hand plus what left
		Holding  int64 // what reserved reservations hold
	}
	err := w.Schema(t, gateway.Name).Raw(`SELECT p.sku, p.on_hand, p.reserved, p.on_hand + COALESCE(d.q, 0) AS received,
			COALESCE(r.q, 0) AS holding
		FROM products p
		LEFT JOIN (SELECT l.sku, sum(l.quantity) AS q FROM reservation_lines l JOIN reservations r USING (order_id)
			WHERE r.status = 'reserved' GROUP BY l.sku) r ON r.sku = p.sku
		LEFT JOIN (SELECT l.sku, sum(l.quantity) AS q FROM reservation_lines l JOIN reservations r USING (order_id)
			WHERE r.status = 'dispatched' GROUP BY l.sku) d ON d.sku = p.sku
		ORDER BY p.sku`).Scan(&rows).Error
	if err != nil {
		t.Fatal(err)
	}
	received = map[string]int64{}
	for _, r := range rows {
		received[r.SKU] = r.Received
		if r.Reserved != r.Holding {
			t.Errorf("%s: %d reserved, but reserved reservations hold %d", r.SKU, r.Reserved, r.Holding)
		}
		if r.Reserved < 0 || r.Reserved > r.OnHand {
			t.Errorf("%s: %d reserved of %d on hand", r.SKU, r.Reserved, r.OnHand)
		}
		if p := w.product(t, r.SKU); p.OnHand != r.OnHand || p.Reserved != r.Reserved || p.Available != r.OnHand-r.Reserved {
			t.Errorf("%s: the API says %+v, the table %d on hand and %d reserved", r.SKU, p, r.OnHand, r.Reserved)
		}
	}
	var mismatched []string
	if err := w.Schema(t, gateway.Name).Raw(`SELECT s.id || ' ' || s.status || ' / ' || r.status FROM shipments s JOIN reservations r USING (order_id)
		WHERE NOT ((s.status = 'picking' AND r.status = 'reserved') OR (s.status = 'dispatched' AND r.status = 'dispatched')
			OR (s.status = 'cancelled' AND r.status = 'released'))`).Scan(&mismatched).Error; err != nil {
		t.Fatal(err)
	}
	if len(mismatched) > 0 {
		t.Errorf("shipments that disagree with their reservation: %v", mismatched)
	}
	return received
}

// Paid orders that arrive together, some twice, one released before its
// payment came and one the warehouse never reserved, each end as one
// shipment (or none), whichever batches they were handled in.
func TestPaidOrdersArrivingTogether(t *testing.T) {
	t.Parallel()
	w := start(t)
	sku := w.newProduct(t, 100, "USD", 100)
	const n = 24
	orders := make([]uuid.UUID, n)
	for i := range orders {
		orders[i] = w.reserve(t, line{sku, 1})
	}
	released := orders[0]
	if err := w.local(t).Release(t.Context(), released); err != nil {
		t.Fatalf("release: %v", err)
	}
	unknown := uuid.New()

	var wg sync.WaitGroup
	for _, id := range append(append(orders, orders[:n/2]...), unknown) {
		wg.Go(func() { w.paid(t, id) })
	}
	wg.Wait()

	for _, id := range orders {
		want := "picking"
		if id == released {
			want = "cancelled"
		}
		if got := w.shipmentOf(t, id); got.Status != want {
			t.Errorf("order %s: shipment %+v, want %s", id, got, want)
		}
	}
	if got := w.shipments(t, unknown); len(got) != 0 {
		t.Errorf("an order the warehouse never reserved has shipments %+v", got)
	}
	if dls := w.DeadLetters(t, gateway.Name); len(dls) != 0 {
		t.Errorf("dead letters: %+v", dls)
	}
}
