package im

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
	pathAccounts = "/gateway/im/v1/accounts/"
	pathManagers = "/gateway/im/v1/managers/"
)

// managerOf is the answer to "who manages this account": an unmanaged account
// is a 200 with a null manager, not a 404, because having no manager is a normal
// state and not a missing resource.
type managerOf struct {
	Manager *Manager `json:"manager"`
}

// Mount binds impl to the gateway's HTTP routes on e.
func Mount(e *echo.Echo, impl IM) {
	e.GET(pathAccounts+":account_id/manager", func(c echo.Context) error {
		id, err := web.PathID(c, "account_id")
		if err != nil {
			return err
		}
		m, found, err := impl.ManagerOf(c.Request().Context(), id)
		if err != nil {
			return err
		}
		var out managerOf
		if found {
			out.Manager = &m
		}
		return c.JSON(http.StatusOK, out)
	})
	e.GET(pathManagers+":id", func(c echo.Context) error {
		id, err := web.PathID(c, "id")
		if err != nil {
			return ErrManagerNotFound.WithDetail("%q is not a valid id", c.Param("id"))
		}
		m, err := impl.Manager(c.Request().Context(), id)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, m)
	})
}

// Client is the IM of a peer reached over HTTP.
type Client struct{ c *httpclient.Client }

var _ IM = (*Client)(nil)

// ManagerOf implements IM.
func (cl *Client) ManagerOf(ctx context.Context, accountID uuid.UUID) (Manager, bool, error) {
	var out managerOf
	if err := cl.c.Call(ctx, http.MethodGet, pathAccounts+accountID.String()+"/manager", nil, &out, true); err != nil {
		return Manager{}, false, err
	}
	if out.Manager == nil {
		return Manager{}, false, nil
	}
	return *out.Manager, true, nil
}

// Manager implements IM.
func (cl *Client) Manager(ctx context.Context, id uuid.UUID) (Manager, error) {
	var m Manager
	if err := cl.c.Call(ctx, http.MethodGet, pathManagers+id.String(), nil, &m, true); err != nil {
		return Manager{}, err
	}
	return m, nil
}
