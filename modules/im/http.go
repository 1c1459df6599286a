package im

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/gateway/im"
	"github.com/uberservice/uberservice/platform/page"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/web"
)

// api is im's public HTTP API: it decodes requests, calls the service and
// encodes answers. Errors are problems and leave through the platform's
// error handler.
type api struct{ svc *service }

func mountAPI(e *echo.Echo, svc *service) {
	a := api{svc: svc}
	e.POST("/v1/managers", a.createManager)
	e.GET("/v1/managers/:id", a.getManager)
	e.POST("/v1/managers/:id/accounts", a.link)
	e.DELETE("/v1/managers/:id/accounts/:account_id", a.unlink)
	e.GET("/v1/managers/:id/summary", a.summary)
	e.GET("/v1/managers/:id/commissions", a.commissions)
	e.GET("/v1/managers/:id/notifications", a.notifications)
}

func (a api) createManager(c echo.Context) error {
	var req NewManager
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	m, err := a.svc.CreateManager(c.Request().Context(), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, m)
}

func (a api) getManager(c echo.Context) error {
	id, err := managerID(c)
	if err != nil {
		return err
	}
	m, err := a.svc.GetManager(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, m)
}

// linkRequest takes the account id as a string so that a malformed one is a
// 422 naming the field, like an unknown one, rather than a decoding error.
type linkRequest struct {
	AccountID string `json:"account_id"`
}

func (a api) link(c echo.Context) error {
	id, err := managerID(c)
	if err != nil {
		return err
	}
	var req linkRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	if req.AccountID == "" {
		return problem.Invalid(problem.Field("account_id", "required"))
	}
	accountID, err := uuid.Parse(req.AccountID)
	if err != nil {
		return problem.Invalid(problem.Field("account_id", "must be a UUID"))
	}
	link, created, err := a.svc.Link(c.Request().Context(), id, accountID)
	if err != nil {
		return err
	}
	if created {
		return c.JSON(http.StatusCreated, link)
	}
	return c.JSON(http.StatusOK, link)
}

func (a api) unlink(c echo.Context) error {
	id, err := managerID(c)
	if err != nil {
		return err
	}
	accountID, err := uuid.Parse(c.Param("account_id"))
	if err != nil {
		return ErrLinkNotFound.WithDetail("%q is not a valid account id", c.Param("account_id"))
	}
	if err := a.svc.Unlink(c.Request().Context(), id, accountID); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (a api) summary(c echo.Context) error {
	id, err := managerID(c)
	if err != nil {
		return err
	}
	s, err := a.svc.Summary(c.Request().Context(), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, s)
}

func (a api) commissions(c echo.Context) error {
	id, err := managerID(c)
	if err != nil {
		return err
	}
	req, err := page.Parse(c.QueryParams())
	if err != nil {
		return err
	}
	list, err := a.svc.Commissions(c.Request().Context(), id, req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, list)
}

func (a api) notifications(c echo.Context) error {
	id, err := managerID(c)
	if err != nil {
		return err
	}
	req, err := page.Parse(c.QueryParams())
	if err != nil {
		return err
	}
	p, err := a.svc.Notifications(c.Request().Context(), id, req)
	if err != nil {
		return err
	}
	return page.Write(c, p)
}

// managerID reads the manager id from the path. A malformed id names no
// manager, so it is the same 404 as an unknown one.
func managerID(c echo.Context) (uuid.UUID, error) {
	id, err := web.PathID(c, "id")
	if err != nil {
		return uuid.Nil, im.ErrManagerNotFound.WithDetail("%q is not a valid id", c.Param("id"))
	}
	return id, nil
}
