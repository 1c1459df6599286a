package idempotency

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// CheckKeys refuses, on every route it serves, a request that may change
// something (any method but GET, HEAD and OPTIONS) and carries an
// Idempotency-Key that KeyFrom refuses: empty, not printable ASCII, too long,
// or given twice. On a route that takes a key its handler would refuse it
// too; on one that takes none, the request would otherwise run as though no
// key had been sent, and the client that sent one to make a retry safe would
// never learn that it did not. The runtime serves every module with it.
func CheckKeys(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
		default:
			if _, err := KeyFrom(c.Request()); err != nil {
				return err
			}
		}
		return next(c)
	}
}
