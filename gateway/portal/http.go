package portal

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/platform/web"
)

// mount adds the portal's routes to e.
func mount(e *echo.Echo, v *views) {
	e.GET("/v1/portal/accounts/:id", func(c echo.Context) error {
		id, err := web.PathID(c, "id")
		if err != nil {
			// A malformed id names no account: the same answer as an unknown one.
			return accounts.ErrAccountNotFound.WithDetail("%q is not a valid id", c.Param("id"))
		}
		view, err := v.Account(c.Request().Context(), id)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, view)
	})
}
