package identity

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/problem"
)

// ErrForbidden is the answer to a person whose roles do not admit what they
// ask: 403. Someone else's resource is not this, but the owning module's
// not-found error, so that what exists is not revealed.
var ErrForbidden = problem.New(http.StatusForbidden, "forbidden", "Your roles do not allow this")

// Require is nil when ctx is made for a person with one of roles, and
// ErrForbidden when it is made for a person with none of them. A context made
// for no person is the system's own (an event handler, a saga resumed after a
// crash, a module acting on its own authority): Require lets it through,
// since the public API lets no request in without a person.
func Require(ctx context.Context, roles ...Role) error {
	p, ok := PersonFrom(ctx)
	if !ok {
		return nil
	}
	for _, r := range roles {
		if p.Has(r) {
			return nil
		}
	}
	return ErrForbidden
}

type noPerson struct{}

// WithoutPerson returns ctx made for no person: a module that has checked
// what a person may see, and then asks another module's gateway for data the
// person does not own (im reading the balances of a manager's accounts from
// accounts), calls on its own authority, not on the person's.
func WithoutPerson(ctx context.Context) context.Context {
	return context.WithValue(ctx, personKey{}, noPerson{})
}

// Admit is the middleware of a route that admits roles: it refuses anyone
// else (ErrForbidden) before the handler reads the request, so that a
// stranger is told 403 whatever they send, never what is wrong with their
// input. The module's service checks the same roles with Require: that is
// the rule, this only puts it first.
func Admit(roles ...Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if err := Require(c.Request().Context(), roles...); err != nil {
				return err
			}
			return next(c)
		}
	}
}
