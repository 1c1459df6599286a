package orders

import (
	"context"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/platform/contract"
)

// Gateway is the contract as the runtime serves and reaches it: the table of
// its methods, written once for both sides of the wire. These routes are for
// other modules, beside the module's public API.
var Gateway = contract.New(Name, func(c contract.Caller) Orders { return client{c} }, get)

// A malformed id names no order: the same answer as an unknown one.
var get = contract.Method("Get", Orders.Get, "GET /gateway/orders/v1/orders/{id}").
	Idempotent().NotFound(ErrOrderNotFound)

// client is the Orders of a peer, reached through c.
type client struct{ c contract.Caller }

func (cl client) Get(ctx context.Context, id uuid.UUID) (Order, error) {
	o, err := get.Call(ctx, cl.c, id)
	if err == nil && o.Lines == nil {
		o.Lines = []Line{}
	}
	return o, err
}
