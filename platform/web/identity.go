package web

import "github.com/labstack/echo/v4"

// InstanceHeader is the response header that names the instance which
// answered: "<module>/<version>/<instance>", such as
// "accounts/1.4.2/0b6f…". With several versions of a module side by side
// (a rolling upgrade, a shadow), it is how a client, a proxy's access log or
// an operator's curl tells which one served a response.
const InstanceHeader = "Uberservice-Instance"

// Identity names what serves: the module, the binary's version (package
// build) and the process's instance id, the one its metrics and traces carry.
type Identity struct {
	Module, Version, Instance string
}

// String is the identity as InstanceHeader carries it.
func (id Identity) String() string { return id.Module + "/" + id.Version + "/" + id.Instance }

// identityKey is where Identify leaves the identity for /readyz.
const identityKey = "web.identity"

// Identify makes every response of e carry id in InstanceHeader, and /readyz
// (MountHealth) say id's version and instance in its body. It runs before
// routing, so a 404, a 405 and the problems of the platform's limits carry
// it too; only what Go itself refuses before any handler runs does not (see
// HeaderLimit).
func Identify(e *echo.Echo, id Identity) {
	value := id.String()
	e.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set(InstanceHeader, value)
			if c.Request().URL.Path == ReadyPath { // the one reader: no store for every request
				c.Set(identityKey, id)
			}
			return next(c)
		}
	})
}

// identified adds to a /readyz body what Identify says of the instance.
func identified(c echo.Context, body map[string]any) map[string]any {
	if id, ok := c.Get(identityKey).(Identity); ok {
		body["version"], body["instance"] = id.Version, id.Instance
	}
	return body
}
