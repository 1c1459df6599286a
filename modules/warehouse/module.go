// Package warehouse is the warehouse module: the catalogue of products and their
// stock, the reservations that set stock aside for orders, and the shipments
// that take it out of the building.
//
// It knows nothing of the orders context's internals. The orders saga reaches
// it through the warehouse gateway (gateway/warehouse) to reserve and release
// stock, and it reacts to the orders events that say an order was paid or
// cancelled.
package warehouse

import (
	"context"

	orderevents "github.com/uberservice/uberservice/gateway/orders/events"
	gateway "github.com/uberservice/uberservice/gateway/warehouse"
	"github.com/uberservice/uberservice/gateway/warehouse/events"
	"github.com/uberservice/uberservice/migrations"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/messaging"
)

// Module declares the warehouse module to the runtime.
func Module() app.Module {
	return app.Module{
		Name:       gateway.Name,
		Port:       8084,
		Migrations: migrations.For(gateway.Name),
		Publishes:  events.All,
		Payloads:   events.Payloads,
		Consumes:   app.Topics(orderevents.OrderPaid{}, orderevents.OrderCancelled{}),
		Init:       initModule,
	}
}

func initModule(_ context.Context, env *app.Env) error {
	svc := &service{db: env.DB, outbox: env.Outbox, log: env.Log}
	messaging.HandleBatchedWith(env.Events, svc.toShipOf, svc.onOrderPaid)
	messaging.Handle(env.Events, svc.onOrderCancelled)
	mountAPI(env.HTTP, svc)
	app.Provide(env, gateway.Gateway, gateway.Warehouse(svc))
	return nil
}
