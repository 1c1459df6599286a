package accounts

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	gateway "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/platform/idempotency"
	"github.com/uberservice/uberservice/platform/page"
	"github.com/uberservice/uberservice/platform/web"
)

// handlers are the public HTTP API: they decode, call the service and encode,
// nothing more. Errors are problems; the platform's error handler writes them.
type handlers struct{ svc *service }

// mountAPI adds the public API to e.
func mountAPI(e *echo.Echo, svc *service) {
	h := handlers{svc: svc}
	e.POST("/v1/accounts", h.open)
	e.GET("/v1/accounts/:id", h.get)
	e.POST("/v1/accounts/:id/deposits", h.deposit)
	e.POST("/v1/accounts/:id/withdrawals", h.withdraw)
	e.GET("/v1/accounts/:id/transactions", h.transactions)
	e.GET("/v1/accounts/:id/notifications", h.notifications)
}

// amountRequest is the body of a deposit or a withdrawal.
type amountRequest struct {
	Amount int64 `json:"amount"`
}

func (h handlers) open(c echo.Context) error {
	var req OpenAccount
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	a, err := h.svc.Open(c.Request().Context(), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, a)
}

func (h handlers) get(c echo.Context) error {
	id, err := accountID(c)
	if err != nil {
		return err
	}
	a, err := h.svc.Account(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, a)
}

func (h handlers) deposit(c echo.Context) error { return h.move(c, h.svc.Deposit) }

func (h handlers) withdraw(c echo.Context) error { return h.move(c, h.svc.Withdraw) }

// move serves a deposit or a withdrawal: 201 with the ledger entry, which
// may be the one of an earlier request with the same Idempotency-Key.
func (h handlers) move(c echo.Context, apply func(ctx context.Context, id uuid.UUID, amount int64, key string) (gateway.Transaction, bool, error)) error {
	id, err := accountID(c)
	if err != nil {
		return err
	}
	key, err := idempotency.KeyFrom(c.Request())
	if err != nil {
		return err
	}
	var req amountRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	t, replayed, err := apply(c.Request().Context(), id, req.Amount, key)
	if err != nil {
		return err
	}
	if replayed {
		c.Response().Header().Set(idempotency.ReplayedHeader, "true")
	}
	return c.JSON(http.StatusCreated, t)
}

func (h handlers) transactions(c echo.Context) error {
	id, err := accountID(c)
	if err != nil {
		return err
	}
	req, err := page.Parse(c.QueryParams())
	if err != nil {
		return err
	}
	p, err := h.svc.Transactions(c.Request().Context(), id, req)
	if err != nil {
		return err
	}
	return page.Write(c, p)
}

func (h handlers) notifications(c echo.Context) error {
	id, err := accountID(c)
	if err != nil {
		return err
	}
	req, err := page.Parse(c.QueryParams())
	if err != nil {
		return err
	}
	p, err := h.svc.Notifications(c.Request().Context(), id, req)
	if err != nil {
		return err
	}
	return page.Write(c, p)
}

// accountID reads the account id from the path. A malformed id names no
// account, so it is the same 404 as an unknown one.
func accountID(c echo.Context) (uuid.UUID, error) {
	id, err := web.PathID(c, "id")
	if err != nil {
		return uuid.Nil, gateway.ErrAccountNotFound.WithDetail("%q is not an account id", c.Param("id"))
	}
	return id, nil
}
