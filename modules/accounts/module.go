// Package accounts is the accounts module, the core domain: accounts, their
// balances and the ledger of deposits, withdrawals, debits and credits. It
// knows no other context; other modules reach it through the accounts gateway
// (gateway/accounts) and its events (gateway/accounts/events).
package accounts

import (
	"context"

	gateway "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/gateway/accounts/events"
	"github.com/uberservice/uberservice/migrations"
	"github.com/uberservice/uberservice/platform/app"
)

// Module declares the accounts module to the runtime.
func Module() app.Module {
	return app.Module{
		Name:       gateway.Name,
		Port:       8081,
		Migrations: migrations.For(gateway.Name),
		Publishes:  events.All,
		Payloads:   events.Payloads,
		Init: func(_ context.Context, env *app.Env) error {
			svc := &service{db: env.DB, outbox: env.Outbox}
			mountAPI(env.HTTP, svc)
			app.Provide(env, gateway.Gateway, gateway.Accounts(svc))
			return nil
		},
	}
}
