// Package contracttest is the behaviour every implementation of the warehouse
// gateway must show: the module's local implementation and the HTTP client
// talking to the module's server binding run the same suite and must pass it
// with the same expectations.
//
// Errors are compared with errors.Is against the gateway's sentinels (and
// problem.ErrInvalid for rejected requests), never by message or type, so the
// suite proves that an error decoded from a remote answer is the error a local
// caller gets.
package contracttest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/gateway/warehouse"
	"github.com/uberservice/uberservice/platform/problem"
)

// The bounds of a reservation every implementation accepts, and refuses past.
const (
	MaxLines    = 100
	MaxQuantity = 1_000_000_000
)

// Subject is an implementation under test and a way to arrange its state by
// other means than the Warehouse interface (the module's public API, say).
type Subject struct {
	// Warehouse is the implementation under test.
	Warehouse warehouse.Warehouse
	// NewProduct creates a product with a sku no other case uses, priced price
	// minor units of currency, with stock units on hand, and returns its sku.
	// It fails t when it cannot.
	NewProduct func(t *testing.T, price int64, currency string, stock int64) string
	// Stock reports the units of sku on hand and reserved.
	Stock func(t *testing.T, sku string) (onHand, reserved int64)
	// Dispatch ships the stock reserved for orderID: the order is paid and its
	// shipment dispatched. Nil when the subject cannot; the cases that need it
	// are then skipped.
	Dispatch func(t *testing.T, orderID uuid.UUID)
}

// Run runs the suite. newSubject is called once per case, in that case's t;
// it may return a shared subject, since every case works on products and
// orders of its own. Cases run in parallel.
func Run(t *testing.T, newSubject func(t *testing.T) Subject) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, newSubject(t))
		})
	}
}

type testCase struct {
	name string
	run  func(t *testing.T, s Subject)
}

var cases = []testCase{
	{"Reserve/sets every line aside at its price", func(t *testing.T, s Subject) {
		a := s.NewProduct(t, 250, "USD", 10)
		b := s.NewProduct(t, 1999, "EUR", 5)
		order := uuid.New()
		r, err := s.Warehouse.Reserve(t.Context(), request(order, a, 3, b, 5))
		if err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		wantReservation(t, r, order, warehouse.StatusReserved, []warehouse.ReservedLine{
			{SKU: a, Quantity: 3, UnitPrice: 250, Currency: "USD"},
			{SKU: b, Quantity: 5, UnitPrice: 1999, Currency: "EUR"},
		})
		wantStock(t, s, a, 10, 3)
		wantStock(t, s, b, 5, 5)
	}},
	{"Reserve/answers the lines in the order they were asked", func(t *testing.T, s Subject) {
		skus := []string{s.NewProduct(t, 1, "USD", 9), s.NewProduct(t, 2, "USD", 9), s.NewProduct(t, 3, "USD", 9)}
		slices.Sort(skus)
		slices.Reverse(skus)
		r, err := s.Warehouse.Reserve(t.Context(), request(uuid.New(), skus[0], 1, skus[1], 2, skus[2], 3))
		if err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		if got := lineSKUs(r.Lines); !slices.Equal(got, skus) {
			t.Fatalf("lines answered for %v, asked for %v", got, skus)
		}
	}},
	{"Reserve/the same lines again: the same reservation, reserved once", func(t *testing.T, s Subject) {
		a := s.NewProduct(t, 100, "USD", 10)
		b := s.NewProduct(t, 200, "USD", 10)
		order := uuid.New()
		first, err := s.Warehouse.Reserve(t.Context(), request(order, a, 2, b, 1))
		if err != nil {
			t.Fatalf("first: %v", err)
		}
		again, err := s.Warehouse.Reserve(t.Context(), request(order, a, 2, b, 1))
		if err != nil {
			t.Fatalf("again: %v", err)
		}
		sameReservation(t, again, first)
		// The lines are a set: asking in another order is the same request.
		swapped, err := s.Warehouse.Reserve(t.Context(), request(order, b, 1, a, 2))
		if err != nil {
			t.Fatalf("again, lines swapped: %v", err)
		}
		if !swapped.CreatedAt.Equal(first.CreatedAt) || lineSKUs(swapped.Lines)[0] != b {
			t.Errorf("again with lines swapped = %+v, want the first reservation with b's line first", swapped)
		}
		wantStock(t, s, a, 10, 2)
		wantStock(t, s, b, 10, 1)
	}},
	{"Reserve/other lines for the same order: ErrReservationConflict", func(t *testing.T, s Subject) {
		a := s.NewProduct(t, 100, "USD", 10)
		b := s.NewProduct(t, 100, "USD", 10)
		order := uuid.New()
		if _, err := s.Warehouse.Reserve(t.Context(), request(order, a, 2)); err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		for name, req := range map[string]warehouse.ReserveRequest{
			"another quantity": request(order, a, 3),
			"another product":  request(order, b, 2),
			"one more line":    request(order, a, 2, b, 1),
		} {
			_, err := s.Warehouse.Reserve(t.Context(), req)
			wantErr(t, name, err, warehouse.ErrReservationConflict)
		}
		wantStock(t, s, a, 10, 2)
		wantStock(t, s, b, 10, 0)
	}},
	{"Reserve/after Release: ErrReservationReleased", func(t *testing.T, s Subject) {
		a := s.NewProduct(t, 100, "USD", 10)
		order := uuid.New()
		if _, err := s.Warehouse.Reserve(t.Context(), request(order, a, 4)); err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		if err := s.Warehouse.Release(t.Context(), order); err != nil {
			t.Fatalf("Release: %v", err)
		}
		_, err := s.Warehouse.Reserve(t.Context(), request(order, a, 4))
		wantErr(t, "Reserve after Release", err, warehouse.ErrReservationReleased)
		wantStock(t, s, a, 10, 0)
	}},
	{"Reserve/an unknown sku reserves nothing", func(t *testing.T, s Subject) {
		a := s.NewProduct(t, 100, "USD", 10)
		unknown := "NOPE-" + uuid.NewString()
		order := uuid.New()
		_, err := s.Warehouse.Reserve(t.Context(), request(order, a, 1, unknown, 1))
		wantErr(t, "Reserve of an unknown sku", err, warehouse.ErrUnknownSKU)
		if p := asProblem(t, err); !strings.Contains(p.Detail, unknown) {
			t.Errorf("the problem %q does not name the unknown sku %s", p.Detail, unknown)
		}
		wantStock(t, s, a, 10, 0)
		// The refused request left the order free to reserve.
		if _, err := s.Warehouse.Reserve(t.Context(), request(order, a, 1)); err != nil {
			t.Fatalf("Reserve after a refusal: %v", err)
		}
		wantStock(t, s, a, 10, 1)
	}},
	{"Reserve/a sku no product can have is unknown", func(t *testing.T, s Subject) {
		for _, sku := range []string{"has space", "slash/in/it", strings.Repeat("x", 65), "nul\x00", "ünïcode"} {
			_, err := s.Warehouse.Reserve(t.Context(), request(uuid.New(), sku, 1))
			wantErr(t, fmt.Sprintf("Reserve of %q", sku), err, warehouse.ErrUnknownSKU)
		}
	}},
	{"Reserve/out of stock reserves nothing", func(t *testing.T, s Subject) {
		a := s.NewProduct(t, 100, "USD", 5)
		b := s.NewProduct(t, 100, "USD", 2)
		order := uuid.New()
		_, err := s.Warehouse.Reserve(t.Context(), request(order, a, 5, b, 3))
		wantErr(t, "Reserve beyond the stock of one line", err, warehouse.ErrOutOfStock)
		wantStock(t, s, a, 5, 0)
		wantStock(t, s, b, 2, 0)
		// Exactly what is available can be reserved, by the same order.
		if _, err := s.Warehouse.Reserve(t.Context(), request(order, a, 5, b, 2)); err != nil {
			t.Fatalf("Reserve of all the stock: %v", err)
		}
		_, err = s.Warehouse.Reserve(t.Context(), request(uuid.New(), a, 1))
		wantErr(t, "Reserve of reserved stock", err, warehouse.ErrOutOfStock)
		wantStock(t, s, a, 5, 5)
		wantStock(t, s, b, 2, 2)
	}},
	{"Reserve/a product never stocked is out of stock", func(t *testing.T, s Subject) {
		a := s.NewProduct(t, 100, "USD", 0)
		_, err := s.Warehouse.Reserve(t.Context(), request(uuid.New(), a, 1))
		wantErr(t, "Reserve of a product without stock", err, warehouse.ErrOutOfStock)
	}},
	{"Reserve/invalid requests are refused", func(t *testing.T, s Subject) {
		a := s.NewProduct(t, 100, "USD", MaxQuantity+10)
		order := uuid.New()
		tooMany := make([]warehouse.Line, MaxLines+1)
		for i := range tooMany {
			tooMany[i] = warehouse.Line{SKU: fmt.Sprintf("LINE-%d", i), Quantity: 1}
		}
		for name, req := range map[string]warehouse.ReserveRequest{
			"no order id":          request(uuid.Nil, a, 1),
			"no lines":             {OrderID: order},
			"empty lines":          {OrderID: order, Lines: []warehouse.Line{}},
			"too many lines":       {OrderID: order, Lines: tooMany},
			"quantity 0":           request(order, a, 0),
			"negative quantity":    request(order, a, -1),
			"quantity over max":    request(order, a, MaxQuantity+1),
			"a sku on two lines":   request(order, a, 1, a, 1),
			"a line without a sku": request(order, "", 1),
		} {
			_, err := s.Warehouse.Reserve(t.Context(), req)
			wantErr(t, name, err, problem.ErrInvalid)
		}
		wantStock(t, s, a, MaxQuantity+10, 0)
		if _, err := s.Warehouse.Reserve(t.Context(), request(order, a, MaxQuantity)); err != nil {
			t.Fatalf("Reserve of the largest quantity: %v", err)
		}
	}},
	{"Reserve/racing callers for one order get one reservation", func(t *testing.T, s Subject) {
		a := s.NewProduct(t, 100, "USD", 10)
		req := request(uuid.New(), a, 3)
		const callers = 8
		got := make([]warehouse.Reservation, callers)
		errs := make([]error, callers)
		var wg sync.WaitGroup
		for i := range callers {
			wg.Go(func() { got[i], errs[i] = s.Warehouse.Reserve(t.Context(), req) })
		}
		wg.Wait()
		for i := range callers {
			if errs[i] != nil {
				t.Fatalf("caller %d: %v", i, errs[i])
			}
			sameReservation(t, got[i], got[0])
		}
		wantStock(t, s, a, 10, 3)
	}},
	{"Reserve/honours a cancelled context", func(t *testing.T, s Subject) {
		a := s.NewProduct(t, 100, "USD", 10)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := s.Warehouse.Reserve(ctx, request(uuid.New(), a, 1))
		wantErr(t, "Reserve with a cancelled context", err, context.Canceled)
		wantStock(t, s, a, 10, 0)
	}},

	{"Release/gives the stock back, once", func(t *testing.T, s Subject) {
		a := s.NewProduct(t, 100, "USD", 10)
		b := s.NewProduct(t, 100, "USD", 10)
		order := uuid.New()
		if _, err := s.Warehouse.Reserve(t.Context(), request(order, a, 4, b, 10)); err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		other := uuid.New()
		if _, err := s.Warehouse.Reserve(t.Context(), request(other, a, 1)); err != nil {
			t.Fatalf("Reserve for another order: %v", err)
		}
		for i := range 2 {
			if err := s.Warehouse.Release(t.Context(), order); err != nil {
				t.Fatalf("Release #%d: %v", i+1, err)
			}
			wantStock(t, s, a, 10, 1)
			wantStock(t, s, b, 10, 0)
		}
		if _, err := s.Warehouse.Reserve(t.Context(), request(uuid.New(), b, 10)); err != nil {
			t.Fatalf("Reserve of the released stock: %v", err)
		}
	}},
	{"Release/an order without a reservation is no error", func(t *testing.T, s Subject) {
		if err := s.Warehouse.Release(t.Context(), uuid.New()); err != nil {
			t.Fatalf("Release of an unknown order: %v", err)
		}
	}},
	{"Release/the nil order id is refused", func(t *testing.T, s Subject) {
		err := s.Warehouse.Release(t.Context(), uuid.Nil)
		wantErr(t, "Release of the nil order id", err, problem.ErrInvalid)
	}},
	{"Release/racing releases give the stock back once", func(t *testing.T, s Subject) {
		a := s.NewProduct(t, 100, "USD", 5)
		order, other := uuid.New(), uuid.New()
		for o, q := range map[uuid.UUID]int64{order: 3, other: 2} {
			if _, err := s.Warehouse.Reserve(t.Context(), request(o, a, q)); err != nil {
				t.Fatalf("Reserve: %v", err)
			}
		}
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { errs[i] = s.Warehouse.Release(t.Context(), order) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("Release %d: %v", i, err)
			}
		}
		wantStock(t, s, a, 5, 2)
	}},
	{"Release/after dispatch: ErrAlreadyDispatched", func(t *testing.T, s Subject) {
		if s.Dispatch == nil {
			t.Skip("the subject cannot dispatch")
		}
		a := s.NewProduct(t, 700, "USD", 5)
		order := uuid.New()
		first, err := s.Warehouse.Reserve(t.Context(), request(order, a, 2))
		if err != nil {
			t.Fatalf("Reserve: %v", err)
		}
		s.Dispatch(t, order)
		wantStock(t, s, a, 3, 0)
		err = s.Warehouse.Release(t.Context(), order)
		wantErr(t, "Release after dispatch", err, warehouse.ErrAlreadyDispatched)
		wantStock(t, s, a, 3, 0)

		// The reservation is still the order's, and says what became of it.
		again, err := s.Warehouse.Reserve(t.Context(), request(order, a, 2))
		if err != nil {
			t.Fatalf("Reserve again after dispatch: %v", err)
		}
		first.Status = warehouse.StatusDispatched
		sameReservation(t, again, first)
		_, err = s.Warehouse.Reserve(t.Context(), request(order, a, 1))
		wantErr(t, "Reserve of other lines after dispatch", err, warehouse.ErrReservationConflict)
		wantStock(t, s, a, 3, 0)
	}},
}

// request builds a ReserveRequest from pairs of sku and quantity.
func request(order uuid.UUID, pairs ...any) warehouse.ReserveRequest {
	req := warehouse.ReserveRequest{OrderID: order}
	for i := 0; i+1 < len(pairs); i += 2 {
		q := pairs[i+1]
		var quantity int64
		switch q := q.(type) {
		case int:
			quantity = int64(q)
		case int64:
			quantity = q
		default:
			panic(fmt.Sprintf("contracttest: quantity %v is a %T", q, q))
		}
		req.Lines = append(req.Lines, warehouse.Line{SKU: pairs[i].(string), Quantity: quantity})
	}
	return req
}

func lineSKUs(lines []warehouse.ReservedLine) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.SKU
	}
	return out
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func asProblem(t *testing.T, err error) *problem.Problem {
	t.Helper()
	var p *problem.Problem
	if !errors.As(err, &p) {
		t.Fatalf("error %v is not a problem", err)
	}
	return p
}

func wantStock(t *testing.T, s Subject, sku string, onHand, reserved int64) {
	t.Helper()
	gotOnHand, gotReserved := s.Stock(t, sku)
	if gotOnHand != onHand || gotReserved != reserved {
		t.Fatalf("%s: %d on hand, %d reserved; want %d, %d", sku, gotOnHand, gotReserved, onHand, reserved)
	}
}

func wantReservation(t *testing.T, r warehouse.Reservation, order uuid.UUID, status string, lines []warehouse.ReservedLine) {
	t.Helper()
	if r.OrderID != order || r.Status != status || r.CreatedAt.IsZero() || !slices.Equal(r.Lines, lines) {
		t.Fatalf("reservation = %+v, want order %s, %s, lines %+v and a creation time", r, order, status, lines)
	}
}

func sameReservation(t *testing.T, got, want warehouse.Reservation) {
	t.Helper()
	if got.OrderID != want.OrderID || got.Status != want.Status || !got.CreatedAt.Equal(want.CreatedAt) ||
		!slices.Equal(got.Lines, want.Lines) {
		t.Fatalf("reservation = %+v, want %+v", got, want)
	}
}
