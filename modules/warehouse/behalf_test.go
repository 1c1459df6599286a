package warehouse_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	gateway "github.com/uberservice/uberservice/gateway/warehouse"
	"github.com/uberservice/uberservice/modules/warehouse"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/httpclient"
	"github.com/uberservice/uberservice/platform/identity"
)

// shop is a module of the test's own that calls the warehouse gateway as
// orders does: resolved by the runtime, so that it is the local
// implementation when the warehouse runs in its process and an HTTP client
// of the warehouse's internal API when it runs in another.
func shop(got *gateway.Warehouse) app.Module {
	return app.Module{Name: "shop", Uses: app.Deps(gateway.Gateway), Init: func(_ context.Context, env *app.Env) (err error) {
		*got, err = app.Resolve(env, gateway.Gateway)
		return err
	}}
}

// A module reserves and releases stock on a person's behalf (orders, for the
// customer placing an order), in one process and across two. The warehouse
// holds no person's data, so the person is no part of its rule, whatever
// their roles: who may order is the orders module's to say. A reservation
// stays the module's that made it, and the person it was made for gives no
// other module a hold on it.
func TestTheGatewayServesACallOnAPersonsBehalf(t *testing.T) {
	t.Parallel()
	var caller gateway.Warehouse
	all := []app.Module{warehouse.Module(), shop(&caller)}
	topologies := []struct {
		name  string
		start func(t *testing.T) *apptest.System // the warehouse's system
	}{
		{"in one process", func(t *testing.T) *apptest.System { return apptest.Start(t, all, app.Config{}) }},
		{"across two", func(t *testing.T) *apptest.System {
			sys := apptest.Start(t, all, app.Config{Modules: []string{gateway.Name}})
			apptest.Start(t, all, app.Config{Modules: []string{"shop"}, DatabaseURL: sys.DB,
				Peers: map[string]string{gateway.Name: sys.InternalURL(gateway.Name)}})
			return sys
		}},
	}
	people := map[string]identity.Person{
		"a customer":           {Subject: "grace", Roles: []identity.Role{identity.Customer}},
		"staff":                {Subject: "sam", Roles: []identity.Role{identity.Staff}},
		"a manager":            {Subject: "ada", Roles: []identity.Role{identity.Manager}},
		"an operator":          {Subject: "olive", Roles: []identity.Role{identity.Operator}},
		"a person of no role":  {Subject: "nobody"},
		"a person of them all": {Subject: "root|ü 1", Roles: identity.Roles()},
	}
	// Subtests in turn, not in parallel: each topology's start sets caller.
	for _, top := range topologies {
		t.Run(top.name, func(t *testing.T) {
			w := newWorld(t, top.start(t))
			sku := w.newProduct(t, 250, "EUR", 10)
			for name, p := range people {
				ctx := identity.WithPerson(t.Context(), p)
				req := gateway.ReserveRequest{OrderID: uuid.New(), Lines: []gateway.Line{{SKU: sku, Quantity: 3}}}
				r, err := caller.Reserve(ctx, req)
				if err != nil || len(r.Lines) != 1 || r.Lines[0].UnitPrice != 250 || r.Lines[0].Currency != "EUR" {
					t.Fatalf("Reserve for %s: %+v, %v", name, r, err)
				}
				wantStock(t, w, sku, 10, 3)
				if err := caller.Release(ctx, req.OrderID); err != nil {
					t.Fatalf("Release for %s: %v", name, err)
				}
				wantStock(t, w, sku, 10, 0)
			}

			grace := identity.WithPerson(t.Context(), people["a customer"])
			req := gateway.ReserveRequest{OrderID: uuid.New(), Lines: []gateway.Line{{SKU: sku, Quantity: 2}}}
			if _, err := caller.Reserve(grace, req); err != nil {
				t.Fatal(err)
			}
			another := apptest.Remote(w.System, gateway.Gateway, httpclient.Options{}) // the Harness module
			if err := another.Release(grace, req.OrderID); err != nil {
				t.Fatalf("another module's Release for the same person: %v, want nothing done and no error", err)
			}
			wantStock(t, w, sku, 10, 2)
			if _, err := another.Reserve(grace, req); !errors.Is(err, gateway.ErrReservationConflict) {
				t.Fatalf("another module reserving under the order's id for the same person: %v, want reservation_conflict", err)
			}
		})
	}
}
