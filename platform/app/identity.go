package app

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/contract"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/peerauth"
	"github.com/uberservice/uberservice/platform/problem"
)

// The answers of the internal API to a caller it does not let in.
var (
	errUnauthenticated = problem.New(http.StatusUnauthorized, "unauthenticated", "The call carries no valid credential")
	errForbidden       = problem.New(http.StatusForbidden, "forbidden", "The caller may not make this call")
	// errBadPerson: a module names the person it acts for in a way no
	// module of this binary does (identity.PersonHeader).
	errBadPerson = problem.New(http.StatusBadRequest, "invalid_person", "The person the call is made for is malformed")
)

// callers returns the middleware of gateway's routes: a call must carry a
// token (package peerauth) of a module of the binary that declares Uses of
// gateway. No token, a bad one or one for another gateway is 401; a module
// that did not declare the gateway is 403, as the runtime refuses such a
// module the gateway in one process (Resolve). An operator may not call a
// gateway either: what a gateway changes, only a module asks for.
func (s *System) callers(gateway string) echo.MiddlewareFunc {
	var allowed []string
	for _, m := range s.all {
		if _, ok := m.uses(gateway); ok {
			allowed = append(allowed, m.Name)
		}
	}
	return s.authenticate(gateway, func(c peerauth.Claims) error {
		if !slices.Contains(allowed, c.Subject) {
			return errForbidden.WithDetail("module %s does not declare that it uses the %s gateway", c.Subject, gateway)
		}
		return nil
	})
}

// operators is the middleware of the ops routes: an operator's token
// (`uberservice keys token`), never a module's and never none.
func (s *System) operators() echo.MiddlewareFunc {
	return s.authenticate(peerauth.OpsAudience, operatorOnly)
}

// authenticate verifies the bearer token of a request for audience, then
// asks allow of what it says.
func (s *System) authenticate(audience string, allow func(peerauth.Claims) error) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			scheme, token, _ := strings.Cut(c.Request().Header.Get(echo.HeaderAuthorization), " ")
			if s.cfg.Keys == nil {
				return errUnauthenticated.WithDetail("this process has no key set to verify callers with")
			}
			if !strings.EqualFold(scheme, "Bearer") {
				token = ""
			}
			claims, err := s.cfg.Keys.Verify(strings.TrimSpace(token), audience)
			if err != nil {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="uberservice"`)
				s.log.DebugContext(c.Request().Context(), "refused an internal call", "uri", c.Request().RequestURI, "reason", err.Error())
				return errUnauthenticated
			}
			if err := allow(claims); err != nil {
				return err
			}
			ctx := contract.WithCallingModule(c.Request().Context(), claims.Subject)
			if h := c.Request().Header.Get(identity.PersonHeader); h != "" && audience != peerauth.OpsAudience {
				p, err := identity.DecodePerson(h)
				if err != nil {
					return errBadPerson.WithDetail("%v", err)
				}
				ctx = identity.WithPerson(ctx, p)
			}
			c.SetRequest(c.Request().WithContext(ctx))
			return next(c)
		}
	}
}

// credentials is how env's module proves itself to the gateway it calls
// across processes: its own token for that gateway.
func (e *Env) credentials(gateway string) (func() (string, error), error) {
	keys := e.sys.cfg.Keys
	if keys == nil {
		return nil, usagef("module %s calls the %s gateway across processes, and no key set is configured (--keys)", e.Module.Name, gateway)
	}
	signer, err := keys.Signer(e.Module.Name)
	if err != nil {
		return nil, usagef("module %s calls the %s gateway across processes: %v", e.Module.Name, gateway, err)
	}
	return func() (string, error) { return signer.Token(gateway) }, nil
}
