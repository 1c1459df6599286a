// Package im is the investment-management module: managers, the accounts they
// manage, the commissions they earn on deposits and the emails that tell them.
//
// The accounts context knows nothing of managers. im learns of new accounts and
// deposits from the accounts events, and asks the accounts gateway only what it
// must know now: whether an account exists, and balances for a summary.
package im

import (
	"context"
	"fmt"

	"github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/gateway/accounts/events"
	"github.com/uberservice/uberservice/gateway/im"
	"github.com/uberservice/uberservice/migrations"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/messaging"
)

// Module declares the im module to the runtime.
func Module() app.Module {
	return app.Module{
		Name:       im.Name,
		Port:       8082,
		Migrations: migrations.For(im.Name),
		Uses:       app.Deps(accounts.Gateway),
		Consumes:   app.Topics(events.AccountCreated{}, events.FundsDepositedV2{}),
		Fitness:    effects,
		Init:       initModule,
	}
}

func initModule(_ context.Context, env *app.Env) error {
	acc, err := app.Resolve(env, accounts.Gateway)
	if err != nil {
		return fmt.Errorf("resolve accounts gateway: %w", err)
	}
	svc := &service{db: env.DB, accounts: acc, log: env.Log}
	// Both handlers only insert rows keyed by the event (links, commissions,
	// emails) and take no lock a request takes: they can be applied in batches.
	messaging.HandleBatched(env.Events, svc.onAccountCreated)
	messaging.HandleBatchedWith(env.Events, svc.depositsContexts, svc.onFundsDeposited)
	mountAPI(env.HTTP, svc)
	app.Provide(env, im.Gateway, im.IM(svc))
	return nil
}
