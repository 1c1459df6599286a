package warehouse

import (
	"context"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/platform/contract"
)

// Gateway is the contract as the runtime serves and reaches it: the table of
// its methods, written once for both sides of the wire. These routes are for
// other modules, beside the module's public API.
var Gateway = contract.New(Name, func(c contract.Caller) Warehouse { return client{c} }, reserve, release)

// Both are idempotent per order (see Warehouse), so a call that may or may
// not have reached the peer is safe to send again.
var (
	reserve = contract.Method("Reserve", Warehouse.Reserve, "POST /gateway/warehouse/v1/reservations").Idempotent()
	release = contract.Action("Release", Warehouse.Release, "POST /gateway/warehouse/v1/reservations/{order_id}/release").Idempotent()
)

// client is the Warehouse of a peer, reached through c.
type client struct{ c contract.Caller }

func (cl client) Reserve(ctx context.Context, req ReserveRequest) (Reservation, error) {
	return reserve.Call(ctx, cl.c, req)
}

func (cl client) Release(ctx context.Context, orderID uuid.UUID) error {
	_, err := release.Call(ctx, cl.c, orderID)
	return err
}
