// Package orders is the orders module: customers' orders and the saga that
// turns an order into a paid one (reserve the stock, debit the account) or a
// rejected one, cancels paid orders with a refund (or leaves them
// refund_failed, for an operator, when accounts refuses it), and follows them
// to their shipment.
//
// The saga is orchestrated here and calls the warehouse and accounts contexts
// through their gateways; its state lives in the orders schema, step by step,
// so that a background recovery resumes every saga a crash or an outage left
// unfinished, with growing spacing while it keeps failing. The module learns
// of shipments from the warehouse's events.
package orders

import (
	"context"
	"fmt"

	"github.com/uberservice/uberservice/gateway/accounts"
	gateway "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/gateway/orders/events"
	"github.com/uberservice/uberservice/gateway/warehouse"
	whevents "github.com/uberservice/uberservice/gateway/warehouse/events"
	"github.com/uberservice/uberservice/migrations"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/messaging"
)

// Module declares the orders module to the runtime.
func Module() app.Module {
	return app.Module{
		Name:       gateway.Name,
		Port:       8083,
		Migrations: migrations.For(gateway.Name),
		Uses:       app.Deps(accounts.Gateway, warehouse.Gateway),
		Publishes:  events.All,
		Payloads:   events.Payloads,
		Consumes:   app.Topics(whevents.ShipmentDispatched{}),
		Init:       initModule,
	}
}

func initModule(_ context.Context, env *app.Env) error {
	acc, err := app.Resolve(env, accounts.Gateway)
	if err != nil {
		return fmt.Errorf("resolve accounts gateway: %w", err)
	}
	wh, err := app.Resolve(env, warehouse.Gateway)
	if err != nil {
		return fmt.Errorf("resolve warehouse gateway: %w", err)
	}
	s := newSaga(env.DB, env.Outbox, acc, wh, env.Log)
	if err := declareMetrics(env, s); err != nil {
		return err
	}
	svc := &service{db: env.DB, outbox: env.Outbox, saga: s, log: env.Log}
	messaging.Handle(env.Events, svc.onShipmentDispatched)
	mountAPI(env.HTTP, svc)
	app.Provide(env, gateway.Gateway, gateway.Orders(svc))
	env.OpsCounts(svc.opsCounts)
	env.Background(s.RunRecovery)
	return nil
}
