// Package portal is the portal gateway: it composes the views the web portal
// needs out of the accounts and im contexts. Composing them here is what lets
// accounts, the core domain, stay ignorant of investment managers: the account
// DTO no longer has to carry a manager section fetched from im. It keeps no
// data of its own.
package portal

import (
	"context"

	"github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/gateway/im"
	"github.com/uberservice/uberservice/platform/app"
)

// Name is the module's name.
const Name = "portal"

// Module declares the portal gateway to the runtime.
func Module() app.Module {
	return app.Module{
		Name: Name,
		Port: 8080,
		Uses: app.Deps(accounts.Gateway, app.Optional(im.Gateway)),
		Init: initModule,
	}
}

// initModule resolves the gateways the portal composes and mounts its routes.
// im only decorates the page with the account's manager: the portal runs
// without it, and its view then says im is degraded.
func initModule(_ context.Context, env *app.Env) error {
	acc, err := app.Resolve(env, accounts.Gateway)
	if err != nil {
		return err
	}
	ims, err := app.Resolve(env, im.Gateway)
	if err != nil {
		return err
	}
	mount(env.HTTP, &views{accounts: acc, im: ims, log: env.Log})
	return nil
}
