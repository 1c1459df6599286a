package orders_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/google/uuid"

	ordersgw "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// Every route of the public API keeps its rule: customers place orders,
// customers and staff read them, only the customer who placed an order
// cancels it; someone else's order is not found.
func TestEveryRouteKeepsItsRule(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	sku := w.newProduct(t, 100, "USD", 10)
	ada, bob := w.newAccount(t, "USD", 10_000), w.newAccount(t, "USD", 10_000)
	mine, theirs := w.placed(t, ada, line{sku, 1}), w.placed(t, bob, line{sku, 1})
	order := func(o ordersgw.Order, tail string) string { return w.orders("/v1/orders/" + o.ID.String() + tail) }
	customers, readers := []identity.Role{identity.Customer}, []identity.Role{identity.Customer, identity.Staff}

	w.RefusesStrangers(t, ordersgw.Name,
		apptest.Access{Method: "POST", URL: w.orders("/v1/orders"),
			Body:  `{"account_id":"` + ada.ID.String() + `","lines":[{"sku":"` + sku + `","quantity":1}]}`,
			Roles: customers, Owner: ada.owner.header},
		apptest.Access{Method: "GET", URL: w.orders("/v1/orders?account_id=" + ada.ID.String()),
			Roles: readers, Owner: ada.owner.header},
		apptest.Access{Method: "GET", URL: order(mine, ""),
			Roles: readers, Owner: ada.owner.header, Foreign: order(theirs, "")},
		apptest.Access{Method: "POST", URL: order(mine, "/cancel"),
			Roles: customers, Owner: ada.owner.header, Foreign: order(theirs, "/cancel")},
	)
	if got := w.order(t, theirs.ID); got.Status != ordersgw.StatusPaid {
		t.Errorf("bob's order after ada tried to cancel it: %s, want paid", got.Status)
	}
}

// Staff read every order, for support, and move no money: they cannot
// cancel one. A customer sees their own orders alone: another's order is not
// found, and the list of another's account is empty. An order placed before
// people had tokens is no customer's, and staff's alone to see.
func TestWhoSeesWhichOrder(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	sku := w.newProduct(t, 100, "USD", 10)
	ada, bob := w.newAccount(t, "USD", 10_000), w.newAccount(t, "USD", 10_000)
	mine := w.placed(t, ada, line{sku, 1})
	if mine.Customer != ada.owner.subject {
		t.Fatalf("ada's order is %q's", mine.Customer)
	}
	get := func(id uuid.UUID, who []string) apptest.Response {
		return apptest.Do(t, http.MethodGet, w.orders("/v1/orders/"+id.String()), nil, who...)
	}

	if got := w.order(t, mine.ID); got.ID != mine.ID || got.Customer != ada.owner.subject {
		t.Errorf("staff read %+v, want ada's order", got)
	}
	get(mine.ID, bob.owner.header).ExpectProblem(t, http.StatusNotFound, "order_not_found")
	apptest.Do(t, http.MethodPost, w.orders("/v1/orders/"+mine.ID.String()+"/cancel"), nil, w.staff...).
		ExpectProblem(t, http.StatusForbidden, "forbidden")
	w.cancel(t, bob.owner, mine.ID).ExpectProblem(t, http.StatusNotFound, "order_not_found")
	if got := w.order(t, mine.ID); got.Status != ordersgw.StatusPaid {
		t.Fatalf("ada's order after staff and bob tried to cancel it: %s, want paid", got.Status)
	}
	w.wantCharged(t, ada, mine.ID, 100)
	if credits := w.movements(t, ada, "credit", mine.ID); len(credits) != 0 {
		t.Errorf("refunds of ada's order: %+v, want none", credits)
	}

	listed := func(account uuid.UUID, who []string) []uuid.UUID {
		var ids []uuid.UUID
		for _, o := range w.ordersOf(t, account, who) {
			ids = append(ids, o.ID)
		}
		return ids
	}
	if got := listed(ada.ID, ada.owner.header); len(got) != 1 || got[0] != mine.ID {
		t.Errorf("ada lists %v, want her order", got)
	}
	if got := listed(ada.ID, w.staff); len(got) != 1 || got[0] != mine.ID {
		t.Errorf("staff list %v, want ada's order", got)
	}
	if got := listed(ada.ID, bob.owner.header); len(got) != 0 {
		t.Errorf("bob lists %v on ada's account, want nothing", got)
	}

	old := w.placed(t, ada, line{sku, 1})
	if err := w.Schema(t, ordersgw.Name).Exec(`UPDATE orders SET customer = '' WHERE id = ?`, old.ID).Error; err != nil {
		t.Fatal(err)
	}
	if got := w.order(t, old.ID); got.Customer != "" {
		t.Errorf("staff read an order of no customer as %q's", got.Customer)
	}
	get(old.ID, ada.owner.header).ExpectProblem(t, http.StatusNotFound, "order_not_found")
	w.cancel(t, ada.owner, old.ID).ExpectProblem(t, http.StatusNotFound, "order_not_found")
	if got := listed(ada.ID, ada.owner.header); len(got) != 1 || got[0] != mine.ID {
		t.Errorf("ada lists %v, want her order alone", got)
	}
	if got := listed(ada.ID, w.staff); len(got) != 2 || got[0] != old.ID {
		t.Errorf("staff list %v, want both orders of the account", got)
	}
}

// The gateway answers a call made on a person's behalf as the public API
// answers the person, in this process and over HTTP, where the person
// travels with the call: the customer's own order, any for staff, not found
// for another customer, forbidden for the other roles. A call for no person
// is a module's own, and reads every order.
func TestTheGatewayReadsForThePerson(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	sku := w.newProduct(t, 100, "USD", 10)
	ada := w.newAccount(t, "USD", 10_000)
	o := w.placed(t, ada, line{sku, 1})
	as := func(subject string, roles ...identity.Role) context.Context {
		return identity.WithPerson(t.Context(), identity.Person{Subject: subject, Roles: roles})
	}
	cases := []struct {
		name string
		ctx  context.Context
		want error // nil for the order
	}{
		{"the customer who placed it", as(ada.owner.subject, identity.Customer), nil},
		{"staff", as("sam", identity.Staff), nil},
		{"another customer", as("bob", identity.Customer), ordersgw.ErrOrderNotFound},
		{"another customer, who is a manager too", as("bob", identity.Customer, identity.Manager), ordersgw.ErrOrderNotFound},
		{"a manager", as(ada.owner.subject, identity.Manager), identity.ErrForbidden},
		{"an operator", as("otto", identity.Operator), identity.ErrForbidden},
		{"a person of no role", as(ada.owner.subject), identity.ErrForbidden},
		{"no person", t.Context(), nil},
		{"a module on its own authority", identity.WithoutPerson(as("bob", identity.Customer)), nil},
	}
	apptest.EachImplementation(t, w.System, ordersgw.Gateway, func(t *testing.T, impl ordersgw.Orders) {
		for _, c := range cases {
			got, err := impl.Get(c.ctx, o.ID)
			switch {
			case !errors.Is(err, c.want):
				t.Errorf("%s: error %v, want %v", c.name, err, c.want)
			case err == nil && (got.ID != o.ID || got.Customer != ada.owner.subject):
				t.Errorf("%s: %+v, want ada's order", c.name, got)
			}
		}
	})
}
