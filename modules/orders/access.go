package orders

import (
	"context"

	"github.com/uberservice/uberservice/platform/identity"
)

// Who may touch which order (DOMAIN.md, "Identity and access"). The rules
// are the service's, so that every way in meets them alike: the public API,
// the gateway in this process and across processes, a test's call. A role
// that a use does not admit is identity.ErrForbidden, decided from the roles
// alone, before any order is looked up, so that a stranger learns nothing;
// an order of someone else's is the not-found error of an order that does
// not exist. A context made for no person is the system's own (an event
// handler, the recovery, another module on its own authority) and may touch
// every order, as before people had tokens.

// scope is whose orders a caller may touch: every order (staff reading, or
// the system), or those of one customer.
type scope struct {
	all      bool
	customer string // the customer's subject, when not all
}

// covers reports whether o is within s. An order of no customer, placed
// before people had tokens, is no customer's: only staff and the system
// touch it.
func (s scope) covers(o order) bool {
	return s.all || (o.Customer != "" && o.Customer == s.customer)
}

// readScope is whose orders ctx may read: a customer their own, staff any
// (support work). A manager or an operator reads no order: ErrForbidden.
func readScope(ctx context.Context) (scope, error) {
	if err := identity.Require(ctx, identity.Customer, identity.Staff); err != nil {
		return scope{}, err
	}
	p, ok := identity.PersonFrom(ctx)
	if !ok || p.Has(identity.Staff) {
		return scope{all: true}, nil
	}
	return scope{customer: p.Subject}, nil
}

// ownScope is whose orders ctx may place and cancel: a customer their own.
// Placing and cancelling move money, and staff never move money: anyone but
// a customer is ErrForbidden, even one who may read the order.
func ownScope(ctx context.Context) (scope, error) {
	if err := identity.Require(ctx, identity.Customer); err != nil {
		return scope{}, err
	}
	p, ok := identity.PersonFrom(ctx)
	if !ok {
		return scope{all: true}, nil
	}
	return scope{customer: p.Subject}, nil
}

// forCustomer is ctx for the calls o's saga makes to accounts and the
// warehouse: they act for the customer who placed o, and accounts lets them
// touch that customer's accounts alone. A request of the customer's carries
// the person already. A saga driven with no person (the recovery resuming it
// after a crash or a failed attempt) is made for o's customer, as a
// customer; an order of no customer, placed before people had tokens, is
// driven on the system's own authority, as it always was.
func forCustomer(ctx context.Context, o order) context.Context {
	if _, ok := identity.PersonFrom(ctx); ok || o.Customer == "" {
		return ctx
	}
	return identity.WithPerson(ctx, identity.Person{Subject: o.Customer, Roles: []identity.Role{identity.Customer}})
}
