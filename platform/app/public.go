package app

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/ratelimit"
)

// publicPrefix is the path of a module's public API: every route under it
// is a person's, and asks for a person's token. The probes are not under it.
const publicPrefix = "/v1/"

// publicAPI is the middleware of env's public API, written once here for
// every module: a request under publicPrefix carries a person's token, which
// env.People verifies (401 otherwise, with a Bearer challenge), and then
// takes its turn in the person's rate limit (429 with Retry-After). What the
// person may do is the module's business, in its services.
func (s *System) publicAPI(env *Env) echo.MiddlewareFunc {
	authenticate := refuseEveryone
	if env.People != nil {
		authenticate = env.People.Middleware()
	}
	limit := ratelimit.New(s.cfg.RateLimit).Middleware(func(c echo.Context) string {
		p, _ := identity.PersonFrom(c.Request().Context())
		return p.Subject
	})
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		guarded := authenticate(limit(next))
		return func(c echo.Context) error {
			if !strings.HasPrefix(c.Request().URL.Path, publicPrefix) {
				return next(c)
			}
			return guarded(c)
		}
	}
}

// refuseEveryone stands for the verifier of a system configured with no
// issuer of people's tokens (a test's Config, say; run refuses to start so):
// it lets no request of the public API in.
func refuseEveryone(echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, identity.Challenge)
		return errNoPeople
	}
}

var errNoPeople = problem.New(http.StatusUnauthorized, "unauthenticated",
	"This process verifies no person's token: it was started with no issuer of people's tokens")
