package orders

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
const pathOrder = "/gateway/orders/v1/orders/"

// Mount binds impl to the gateway's HTTP routes on e.
func Mount(e *echo.Echo, impl Orders) {
	e.GET(pathOrder+":id", func(c echo.Context) error {
		id, err := web.PathID(c, "id")
		if err != nil {
			// A malformed id names no order: the same answer as an unknown one.
			return ErrOrderNotFound.WithDetail("%q is not a valid id", c.Param("id"))
		}
		o, err := impl.Get(c.Request().Context(), id)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, o)
	})
}

// Client is the Orders of a peer reached over HTTP.
type Client struct{ c *httpclient.Client }

var _ Orders = (*Client)(nil)

// Get implements Orders.
func (cl *Client) Get(ctx context.Context, id uuid.UUID) (Order, error) {
	var o Order
	if err := cl.c.Call(ctx, http.MethodGet, pathOrder+id.String(), nil, &o, true); err != nil {
		return Order{}, err
	}
	if o.Lines == nil {
		o.Lines = []Line{}
	}
	return o, nil
}
