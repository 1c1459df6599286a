package im

import (
	"context"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/platform/contract"
)

// Gateway is the contract as the runtime serves and reaches it: the table of
// its methods, written once for both sides of the wire. These routes are for
// other modules, beside the module's public API.
var Gateway = contract.New(Name, func(c contract.Caller) IM { return client{c} }, managerOf, manager)

var (
	managerOf = contract.Method("ManagerOf", func(g IM, ctx context.Context, accountID uuid.UUID) (managed, error) {
		m, found, err := g.ManagerOf(ctx, accountID)
		if err != nil || !found {
			return managed{}, err
		}
		return managed{Manager: &m}, nil
	}, "GET /gateway/im/v1/accounts/{account_id}/manager").Idempotent()
	manager = contract.Method("Manager", IM.Manager, "GET /gateway/im/v1/managers/{id}").
		Idempotent().NotFound(ErrManagerNotFound)
)

// managed is the answer to "who manages this account": an unmanaged account
// is a 200 with a null manager, not a 404, because having no manager is a
// normal state and not a missing resource.
type managed struct {
	Manager *Manager `json:"manager"`
}

// client is the IM of a peer, reached through c.
type client struct{ c contract.Caller }

func (cl client) ManagerOf(ctx context.Context, accountID uuid.UUID) (Manager, bool, error) {
	out, err := managerOf.Call(ctx, cl.c, accountID)
	if err != nil || out.Manager == nil {
		return Manager{}, false, err
	}
	return *out.Manager, true, nil
}

func (cl client) Manager(ctx context.Context, id uuid.UUID) (Manager, error) {
	return manager.Call(ctx, cl.c, id)
}
