package warehouse

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/httpclient"
	"github.com/uberservice/uberservice/platform/web"
)

// The wire format of the gateway, written once for both sides. These routes are
// for other modules, beside the module's public API.
const (
	pathReservations = "/gateway/warehouse/v1/reservations"
	pathRelease      = "/release"
)

// Mount binds impl to the gateway's HTTP routes on e.
func Mount(e *echo.Echo, impl Warehouse) {
	e.POST(pathReservations, func(c echo.Context) error {
		var req ReserveRequest
		if err := web.Bind(c, &req); err != nil {
			return err
		}
		r, err := impl.Reserve(c.Request().Context(), req)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, r)
	})
	e.POST(pathReservations+"/:order_id"+pathRelease, func(c echo.Context) error {
		id, err := web.PathID(c, "order_id")
		if err != nil {
			return err
		}
		if err := impl.Release(c.Request().Context(), id); err != nil {
			return err
		}
		return c.NoContent(http.StatusNoContent)
	})
}

// Client is the Warehouse of a peer reached over HTTP.
type Client struct{ c *httpclient.Client }

var _ Warehouse = (*Client)(nil)

// Reserve implements Warehouse. A reservation is idempotent per order, so a
// call that may or may not have reached the peer is safe to retry.
func (cl *Client) Reserve(ctx context.Context, req ReserveRequest) (Reservation, error) {
	var r Reservation
	if err := cl.c.Call(ctx, http.MethodPost, pathReservations, req, &r, true); err != nil {
		return Reservation{}, err
	}
	return r, nil
}

// Release implements Warehouse. Releasing is idempotent, so it is retried like
// Reserve.
func (cl *Client) Release(ctx context.Context, orderID uuid.UUID) error {
	return cl.c.Call(ctx, http.MethodPost, pathReservations+"/"+orderID.String()+pathRelease, nil, nil, true)
}
