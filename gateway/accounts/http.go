package accounts

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/httpclient"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/web"
)

// The wire format of the gateway, written once for both sides. These routes are
// for other modules, beside the module's public API.
const (
	pathAccount  = "/gateway/accounts/v1/accounts/"
	pathBatchGet = "/gateway/accounts/v1/accounts/batch-get"
	pathDebits   = "/gateway/accounts/v1/debits"
	pathCredits  = "/gateway/accounts/v1/credits"
)

type batchGet struct {
	IDs []uuid.UUID `json:"ids"`
}

type items struct {
	Items []Account `json:"items"`
}

// Mount binds impl to the gateway's HTTP routes on e.
func Mount(e *echo.Echo, impl Accounts) {
	e.GET(pathAccount+":id", func(c echo.Context) error {
		id, err := web.PathID(c, "id")
		if err != nil {
			return ErrAccountNotFound.WithDetail("%q is not a valid id", c.Param("id"))
		}
		a, err := impl.Get(c.Request().Context(), id)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, a)
	})
	e.POST(pathBatchGet, func(c echo.Context) error {
		var req batchGet
		if err := web.Bind(c, &req); err != nil {
			return err
		}
		got, err := impl.GetMany(c.Request().Context(), req.IDs)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, items{Items: got})
	})
	move := func(f func(context.Context, Movement) (Transaction, error)) echo.HandlerFunc {
		return func(c echo.Context) error {
			var req Movement
			if err := web.Bind(c, &req); err != nil {
				return err
			}
			tx, err := f(c.Request().Context(), req)
			if err != nil {
				return err
			}
			return c.JSON(http.StatusOK, tx)
		}
	}
	e.POST(pathDebits, move(impl.Debit))
	e.POST(pathCredits, move(impl.Credit))
}

// Client is the Accounts of a peer reached over HTTP.
type Client struct{ c *httpclient.Client }

var _ Accounts = (*Client)(nil)

// Get implements Accounts.
func (cl *Client) Get(ctx context.Context, id uuid.UUID) (Account, error) {
	var a Account
	err := cl.c.Call(ctx, http.MethodGet, pathAccount+id.String(), nil, &a, true)
	return a, err
}

// GetMany implements Accounts.
func (cl *Client) GetMany(ctx context.Context, ids []uuid.UUID) ([]Account, error) {
	if len(ids) > MaxBatch {
		return nil, problem.Invalid(problem.Field("ids", "at most 500 ids"))
	}
	var out items
	if err := cl.c.Call(ctx, http.MethodPost, pathBatchGet, batchGet{IDs: ids}, &out, true); err != nil {
		return nil, err
	}
	if out.Items == nil {
		out.Items = []Account{}
	}
	return out.Items, nil
}

// Debit implements Accounts. The reference makes it safe to retry.
func (cl *Client) Debit(ctx context.Context, req Movement) (Transaction, error) {
	var tx Transaction
	err := cl.c.Call(ctx, http.MethodPost, pathDebits, req, &tx, req.Reference != "")
	return tx, err
}

// Credit implements Accounts. The reference makes it safe to retry.
func (cl *Client) Credit(ctx context.Context, req Movement) (Transaction, error) {
	var tx Transaction
	err := cl.c.Call(ctx, http.MethodPost, pathCredits, req, &tx, req.Reference != "")
	return tx, err
}
