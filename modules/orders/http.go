package orders

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	gateway "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/platform/idempotency"
	"github.com/uberservice/uberservice/platform/page"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/web"
)

// handlers are the public HTTP API: they decode, call the service and encode,
// nothing more. Errors are problems; the platform's error handler writes them.
type handlers struct{ svc *service }

// mountAPI adds the public API to e.
func mountAPI(e *echo.Echo, svc *service) {
	h := handlers{svc: svc}
	e.POST("/v1/orders", h.place)
	e.GET("/v1/orders", h.list)
	e.GET("/v1/orders/:id", h.get)
	e.POST("/v1/orders/:id/cancel", h.cancel)
}

// place answers 201 with the order once the synchronous part of its saga is
// over: paid, rejected, or still placed when a dependency is unavailable (the
// recovery finishes it). A retry with the same Idempotency-Key gets the same
// order, marked Idempotent-Replayed.
func (h handlers) place(c echo.Context) error {
	key, err := idempotency.KeyFrom(c.Request())
	if err != nil {
		return err
	}
	var req PlaceOrder
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	o, replayed, err := h.svc.Place(c.Request().Context(), req, key)
	if err != nil {
		return err
	}
	if replayed {
		c.Response().Header().Set(idempotency.ReplayedHeader, "true")
	}
	return c.JSON(http.StatusCreated, o)
}

func (h handlers) get(c echo.Context) error {
	id, err := orderID(c)
	if err != nil {
		return err
	}
	o, err := h.svc.Get(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, o)
}

// list answers a page of the orders of the account named by the account_id
// query parameter, newest first.
func (h handlers) list(c echo.Context) error {
	raw := c.QueryParam("account_id")
	account, err := uuid.Parse(raw)
	switch {
	case raw == "":
		return problem.Invalid(problem.Field("account_id", "is required: GET /v1/orders?account_id=..."))
	case err != nil || len(raw) != 36:
		return problem.Invalid(problem.Field("account_id", "must be an account id, a UUID"))
	}
	req, err := page.Parse(c.QueryParams())
	if err != nil {
		return err
	}
	p, err := h.svc.List(c.Request().Context(), account, req)
	if err != nil {
		return err
	}
	return page.Write(c, p)
}

// cancel answers 200 with the cancelled order, or 202 with the order still
// paid when the cancellation is recorded but finishes later (a dependency is
// unavailable, or another request is running it). The service's errors are
// problems that carry their status: 409 not_cancellable for a shipped order,
// 409 refund_failed for one whose refund accounts refused.
func (h handlers) cancel(c echo.Context) error {
	id, err := orderID(c)
	if err != nil {
		return err
	}
	o, done, err := h.svc.Cancel(c.Request().Context(), id)
	if err != nil {
		return err
	}
	if !done {
		return c.JSON(http.StatusAccepted, o)
	}
	return c.JSON(http.StatusOK, o)
}

// orderID reads the order id from the path. A malformed id names no order, so
// it is the same 404 as an unknown one.
func orderID(c echo.Context) (uuid.UUID, error) {
	id, err := web.PathID(c, "id")
	if err != nil {
		return uuid.Nil, gateway.ErrOrderNotFound.WithDetail("%q is not an order id", c.Param("id"))
	}
	return id, nil
}
