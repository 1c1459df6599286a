// Package contracttest is the behaviour every implementation of the orders
// gateway must show: the module's local implementation and the HTTP client
// talking to the module's server binding run the same suite and must pass it
// with the same expectations.
//
// Errors are compared with errors.Is against the gateway's sentinels, never by
// message or type, so the suite proves that an error decoded from a remote
// answer is the error a local caller gets.
package contracttest

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/gateway/orders"
)

// Subject is an implementation under test and a way to arrange its state.
type Subject struct {
	// Orders is the implementation under test.
	Orders orders.Orders
	// PlaceOrder arranges what a describes by other means than Orders (the
	// public APIs of the accounts, warehouse and orders modules, say): an
	// account in a.Currency holding a.Balance, a product of its own for every
	// line, priced at the line's unit price in a.Currency with enough stock,
	// and an order of those lines placed on that account through the orders
	// module's public API. It returns the order as that API answered, and
	// fails t when it cannot. When a.RefuseRefund is set, it then cancels the
	// paid order through that API, and returns the order as that API's GET
	// answers it afterwards.
	PlaceOrder func(t *testing.T, a Arrangement) orders.Order
}

// Arrangement describes an order to place and the world around it.
type Arrangement struct {
	Currency string
	Balance  int64 // what the account holds before the order, minor units
	Lines    []PricedLine
	// RefuseRefund asks for the order to be cancelled after a credit of
	// another amount was made on the account with the order's id as reference
	// (through the accounts gateway), so that accounts refuses its refund as
	// a reference conflict.
	RefuseRefund bool
}

// PricedLine is a quantity of a product of the given unit price.
type PricedLine struct {
	Quantity  int64
	UnitPrice int64
}

// Run runs the suite. newSubject is called once per case, in that case's t;
// it may return a shared subject, since every case places orders of its own.
// Cases run in parallel.
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

// twoBooks is an order of two lines worth 1500 in all.
var twoBooks = []PricedLine{{Quantity: 2, UnitPrice: 250}, {Quantity: 1, UnitPrice: 1000}}

var cases = []testCase{
	{"Get/a paid order with every field", func(t *testing.T, s Subject) {
		placed := s.PlaceOrder(t, Arrangement{Currency: "EUR", Balance: 10_000, Lines: twoBooks})
		got, err := s.Orders.Get(t.Context(), placed.ID)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		sameOrder(t, got, placed)
		if got.ID == uuid.Nil || got.AccountID == uuid.Nil || got.Status != orders.StatusPaid || got.RejectReason != nil || got.RefundError != nil {
			t.Errorf("Get = %+v, want a paid order with ids, no reject reason and no refund error", got)
		}
		if got.Total != 1500 || got.Currency != "EUR" {
			t.Errorf("Get total %d %s, want 1500 EUR", got.Total, got.Currency)
		}
		wantLines(t, got, twoBooks)
		if got.CreatedAt.IsZero() || got.UpdatedAt.Before(got.CreatedAt) {
			t.Errorf("Get created %v, updated %v; want a creation time and an update no earlier", got.CreatedAt, got.UpdatedAt)
		}
	}},
	{"Get/a rejected order says why", func(t *testing.T, s Subject) {
		placed := s.PlaceOrder(t, Arrangement{Currency: "USD", Balance: 1499, Lines: twoBooks})
		got, err := s.Orders.Get(t.Context(), placed.ID)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		sameOrder(t, got, placed)
		if got.Status != orders.StatusRejected || got.RejectReason == nil || *got.RejectReason != orders.RejectInsufficientFunds {
			t.Fatalf("Get = %+v (reason %v), want rejected for insufficient funds", got, reason(got))
		}
		if got.Total != 1500 || got.Currency != "USD" {
			t.Errorf("Get total %d %s, want 1500 USD, the price it was refused at", got.Total, got.Currency)
		}
		wantLines(t, got, twoBooks)
	}},
	{"Get/an order whose refund was refused says why", func(t *testing.T, s Subject) {
		placed := s.PlaceOrder(t, Arrangement{Currency: "USD", Balance: 5000, Lines: twoBooks, RefuseRefund: true})
		got, err := s.Orders.Get(t.Context(), placed.ID)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		sameOrder(t, got, placed)
		if got.Status != orders.StatusRefundFailed || got.RejectReason != nil || got.RefundError == nil ||
			got.RefundError.Code != orders.RefundReferenceConflict || got.RefundError.Detail == "" {
			t.Fatalf("Get = %+v (refund error %+v), want refund_failed for a reference conflict, with a detail", got, got.RefundError)
		}
		if got.Total != 1500 || got.Currency != "USD" {
			t.Errorf("Get total %d %s, want 1500 USD, the total that was not refunded", got.Total, got.Currency)
		}
		wantLines(t, got, twoBooks)
	}},
	{"Get/not found", func(t *testing.T, s Subject) {
		got, err := s.Orders.Get(t.Context(), uuid.New())
		wantErr(t, "Get of an unknown id", err, orders.ErrOrderNotFound)
		if !reflect.DeepEqual(got, orders.Order{}) {
			t.Errorf("Get with an error returned %+v, want the zero Order", got)
		}
	}},
	{"Get/a malformed id is not found", func(t *testing.T, s Subject) {
		_, err := s.Orders.Get(t.Context(), uuid.Nil)
		wantErr(t, "Get of the nil id", err, orders.ErrOrderNotFound)
	}},
	{"Get/honours a cancelled context", func(t *testing.T, s Subject) {
		placed := s.PlaceOrder(t, Arrangement{Currency: "USD", Balance: 5000, Lines: twoBooks[:1]})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := s.Orders.Get(ctx, placed.ID)
		wantErr(t, "Get with a cancelled context", err, context.Canceled)
	}},
	{"Get/returns a copy", func(t *testing.T, s Subject) {
		placed := s.PlaceOrder(t, Arrangement{Currency: "USD", Balance: 5000, Lines: twoBooks})
		first, err := s.Orders.Get(t.Context(), placed.ID)
		if err != nil {
			t.Fatalf("Get: %v", err)
		}
		first.Lines[0].Quantity = 999
		first.Lines = first.Lines[:1]
		again, err := s.Orders.Get(t.Context(), placed.ID)
		if err != nil {
			t.Fatalf("Get again: %v", err)
		}
		sameOrder(t, again, placed)
	}},
}

// sameOrder fails t unless got and want are the same order, times compared as
// instants.
func sameOrder(t *testing.T, got, want orders.Order) {
	t.Helper()
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("times: got created %v updated %v, want %v and %v", got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt)
	}
	g, w := got, want
	g.CreatedAt, g.UpdatedAt, w.UpdatedAt = w.CreatedAt, w.CreatedAt, w.CreatedAt
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got  %+v (reason %v)\nwant %+v (reason %v)", got, reason(got), want, reason(want))
	}
}

// wantLines fails t unless o's lines are those of want, each priced and
// totalled, in any order.
func wantLines(t *testing.T, o orders.Order, want []PricedLine) {
	t.Helper()
	if len(o.Lines) != len(want) {
		t.Fatalf("%d lines, want %d: %+v", len(o.Lines), len(want), o.Lines)
	}
	var sum int64
	for _, w := range want {
		i := slices.IndexFunc(o.Lines, func(l orders.Line) bool { return l.Quantity == w.Quantity && l.UnitPrice == w.UnitPrice })
		if i < 0 {
			t.Fatalf("no line of %d at %d among %+v", w.Quantity, w.UnitPrice, o.Lines)
		}
		if l := o.Lines[i]; l.SKU == "" || l.LineTotal != w.Quantity*w.UnitPrice {
			t.Errorf("line %+v, want a SKU and a line total of %d", l, w.Quantity*w.UnitPrice)
		}
		sum += w.Quantity * w.UnitPrice
	}
	if o.Total != sum {
		t.Errorf("total %d, want the sum of the lines, %d", o.Total, sum)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func reason(o orders.Order) string {
	if o.RejectReason == nil {
		return "<nil>"
	}
	return *o.RejectReason
}
