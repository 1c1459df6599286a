package warehouse_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	gateway "github.com/uberservice/uberservice/gateway/warehouse"
	"github.com/uberservice/uberservice/modules/warehouse"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/page"
)

// The roles of the warehouse's routes, as DOMAIN.md gives them.
var (
	staffOnly       = []identity.Role{identity.Staff}
	customerOrStaff = []identity.Role{identity.Customer, identity.Staff}
)

// as is ctx made for a person with roles, as the public API makes it.
func as(ctx context.Context, roles ...identity.Role) context.Context {
	return identity.WithPerson(ctx, identity.Person{Subject: "someone", Roles: roles})
}

// Every route of the public API holds to its rule: staff run the store, a
// customer reads a product too, and nobody else gets past 403. No person owns
// a product or a shipment, so no route has someone else's resource to hide.
func TestPublicAPIRefusesStrangers(t *testing.T) {
	t.Parallel()
	w := start(t)
	sku := w.newProduct(t, 500, "USD", 10)
	order := w.reserve(t, line{sku, 2})
	w.paid(t, order)
	sh := w.shipmentOf(t, order).ID.String()
	kettle := newSKU("KETTLE")

	w.RefusesStrangers(t, gateway.Name,
		apptest.Access{Method: "POST", URL: w.url("/v1/products"), Body: fmt.Sprintf(`{"sku":%q,"name":"Kettle","price":2500}`, kettle),
			Roles: staffOnly, Owner: w.staff},
		apptest.Access{Method: "GET", URL: w.url("/v1/products/" + sku), Roles: customerOrStaff, Owner: w.customer},
		apptest.Access{Method: "POST", URL: w.url("/v1/products/" + sku + "/stock"), Body: `{"quantity":1}`,
			Roles: staffOnly, Owner: w.staff},
		apptest.Access{Method: "GET", URL: w.url("/v1/shipments?order_id=" + order.String()), Roles: staffOnly, Owner: w.staff},
		apptest.Access{Method: "GET", URL: w.url("/v1/shipments/" + sh), Roles: staffOnly, Owner: w.staff},
		apptest.Access{Method: "POST", URL: w.url("/v1/shipments/" + sh + "/dispatch"), Roles: staffOnly, Owner: w.staff},
	)

	// What the refused requests asked for never happened: only staff's did.
	if p := w.product(t, kettle); p.Name != "Kettle" {
		t.Errorf("the product staff created: %+v", p)
	}
	wantStock(t, w, sku, 10+1-2, 0)
	if got := w.shipmentOf(t, order); got.Status != "dispatched" {
		t.Errorf("the shipment staff dispatched: %+v", got)
	}
}

// A person the route does not admit is refused before anything else, so
// that they learn nothing: not whether what they name exists, not what is
// wrong with what they sent.
func TestAStrangerLearnsNothing(t *testing.T) {
	t.Parallel()
	w := start(t)
	manager := w.Person(t, "ada", identity.Manager)
	unknown := uuid.NewString()
	for _, r := range []struct {
		name, method, path, body string
		header                   []string
	}{
		{"an unknown product", "GET", "/v1/products/NOPE", "", manager},
		{"a malformed sku", "GET", "/v1/products/has%20space", "", manager},
		{"a malformed product", "POST", "/v1/products", `{"sku":`, w.customer},
		{"stock of an unknown product", "POST", "/v1/products/NOPE/stock", `{"quantity":0}`, w.customer},
		{"shipments of no order", "GET", "/v1/shipments", "", w.customer},
		{"an unknown shipment", "GET", "/v1/shipments/" + unknown, "", w.customer},
		{"the dispatch of an unknown shipment", "POST", "/v1/shipments/" + unknown + "/dispatch", "", manager},
	} {
		t.Run(r.name, func(t *testing.T) {
			var body any
			if r.body != "" {
				body = r.body
			}
			apptest.Do(t, r.method, w.url(r.path), body, r.header...).ExpectProblem(t, http.StatusForbidden, "forbidden")
		})
	}
}

// The rules are the service's, not only its handlers': called with a
// person's context, it serves the roles each call admits and refuses the
// others, a person of no role among them, changing nothing; a context of no
// person is the system's own and is served.
func TestTheServiceHoldsEveryPersonToTheRules(t *testing.T) {
	t.Parallel()
	w := start(t)
	svc := w.service(t)
	sku := w.newProduct(t, 100, "USD", 1000)
	order := w.reserve(t, line{sku, 1})
	w.paid(t, order)
	shipment := w.shipmentOf(t, order).ID
	price := int64(100)

	calls := []struct {
		name   string
		admits []identity.Role
		call   func(ctx context.Context) error
	}{
		{"CreateProduct", staffOnly, func(ctx context.Context) error {
			_, err := svc.CreateProduct(ctx, warehouse.NewProduct{SKU: newSKU("NEW"), Name: "New", Price: &price})
			return err
		}},
		{"Product", customerOrStaff, func(ctx context.Context) error {
			_, err := svc.Product(ctx, sku)
			return err
		}},
		{"ReceiveStock", staffOnly, func(ctx context.Context) error {
			_, _, err := svc.ReceiveStock(ctx, sku, 1, "")
			return err
		}},
		{"Shipments", staffOnly, func(ctx context.Context) error {
			_, err := svc.Shipments(ctx, order, page.Request{})
			return err
		}},
		{"Shipment", staffOnly, func(ctx context.Context) error {
			_, err := svc.Shipment(ctx, shipment)
			return err
		}},
		{"Dispatch", staffOnly, func(ctx context.Context) error {
			_, err := svc.Dispatch(ctx, shipment) // again: answered unchanged
			return err
		}},
	}
	state := w.state(t)
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			for _, role := range identity.Roles() {
				ctx := as(t.Context(), role)
				if slices.Contains(c.admits, role) {
					if err := c.call(ctx); err != nil {
						t.Errorf("as %s: %v", role, err)
					}
					continue
				}
				before := state(t)
				if err := c.call(ctx); !errors.Is(err, identity.ErrForbidden) {
					t.Errorf("as %s: %v, want forbidden", role, err)
				}
				if after := state(t); after != before {
					t.Errorf("as %s, refused, it changed the warehouse:\n%s\nto\n%s", role, before, after)
				}
			}
			if err := c.call(as(t.Context())); !errors.Is(err, identity.ErrForbidden) {
				t.Errorf("as a person of no role: %v, want forbidden", err)
			}
			if err := c.call(t.Context()); err != nil {
				t.Errorf("as the system itself: %v", err)
			}
		})
	}
}

// The service refuses a role before it looks anything up: to a person it
// does not admit, an unknown product or shipment is as forbidden as a known
// one, and so is a request that breaks every rule of input.
func TestTheServiceChecksRolesFirst(t *testing.T) {
	t.Parallel()
	w := start(t)
	svc := w.service(t)
	manager := as(t.Context(), identity.Manager)
	customer := as(t.Context(), identity.Customer)
	for name, call := range map[string]func() error{
		"Product of an unknown sku, as a manager":  func() error { _, err := svc.Product(manager, "NOPE"); return err },
		"Product of a malformed sku, as a manager": func() error { _, err := svc.Product(manager, "a b"); return err },
		"CreateProduct of nothing, as a customer": func() error {
			_, err := svc.CreateProduct(customer, warehouse.NewProduct{})
			return err
		},
		"ReceiveStock of nothing into an unknown sku, as a customer": func() error {
			_, _, err := svc.ReceiveStock(customer, "NOPE", 0, "")
			return err
		},
		"Shipment unknown, as a customer": func() error { _, err := svc.Shipment(customer, uuid.New()); return err },
		"Dispatch unknown, as a manager":  func() error { _, err := svc.Dispatch(manager, uuid.New()); return err },
	} {
		if err := call(); !errors.Is(err, identity.ErrForbidden) {
			t.Errorf("%s: %v, want forbidden", name, err)
		}
	}
}
