package orders

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/uberservice/uberservice/platform/identity"
)

func as(subject string, roles ...identity.Role) context.Context {
	return identity.WithPerson(context.Background(), identity.Person{Subject: subject, Roles: roles})
}

// Who may read, and who may place and cancel, which orders: a customer their
// own, staff read any and move no money, managers and operators touch no
// order, and the system (no person) every one. An order of no customer is
// no customer's.
func TestScopes(t *testing.T) {
	ada, bob, legacy := order{Customer: "ada"}, order{Customer: "bob"}, order{}
	cases := []struct {
		name       string
		ctx        context.Context
		read, own  error   // what readScope and ownScope refuse with
		sees, owns []order // what each scope then covers, of ada, bob and legacy
	}{
		{"a customer", as("ada", identity.Customer), nil, nil, []order{ada}, []order{ada}},
		{"staff", as("sam", identity.Staff), nil, identity.ErrForbidden, []order{ada, bob, legacy}, nil},
		{"a customer who is staff too", as("ada", identity.Customer, identity.Staff), nil, nil, []order{ada, bob, legacy}, []order{ada}},
		{"a manager", as("ann", identity.Manager), identity.ErrForbidden, identity.ErrForbidden, nil, nil},
		{"an operator", as("otto", identity.Operator), identity.ErrForbidden, identity.ErrForbidden, nil, nil},
		{"a person of no role", as("nobody"), identity.ErrForbidden, identity.ErrForbidden, nil, nil},
		{"the system", context.Background(), nil, nil, []order{ada, bob, legacy}, []order{ada, bob, legacy}},
		{"the system, for no person", identity.WithoutPerson(as("ada", identity.Customer)), nil, nil,
			[]order{ada, bob, legacy}, []order{ada, bob, legacy}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			read, err := readScope(c.ctx)
			check(t, "read", read, err, c.read, c.sees, ada, bob, legacy)
			own, err := ownScope(c.ctx)
			check(t, "own", own, err, c.own, c.owns, ada, bob, legacy)
		})
	}
}

func check(t *testing.T, what string, s scope, err, wantErr error, want []order, all ...order) {
	t.Helper()
	if !errors.Is(err, wantErr) {
		t.Fatalf("%s: error %v, want %v", what, err, wantErr)
	}
	if err != nil {
		return
	}
	for _, o := range all {
		wanted := slices.ContainsFunc(want, func(w order) bool { return w.Customer == o.Customer })
		if s.covers(o) != wanted {
			t.Errorf("%s: covers the order of %q: %v, want %v", what, o.Customer, s.covers(o), wanted)
		}
	}
}

// The saga acts for the order's customer: as the person of the request that
// drives it, or, driven by no person, as the customer; an order of no
// customer is driven by the system.
func TestForCustomer(t *testing.T) {
	caller := identity.Person{Subject: "ada", Roles: []identity.Role{identity.Customer, identity.Manager}}
	for _, c := range []struct {
		name   string
		ctx    context.Context
		o      order
		want   identity.Person
		person bool
	}{
		{"a request of the customer's", identity.WithPerson(context.Background(), caller), order{Customer: "ada"}, caller, true},
		{"the recovery", context.Background(), order{Customer: "ada"},
			identity.Person{Subject: "ada", Roles: []identity.Role{identity.Customer}}, true},
		{"the recovery, for an order of no customer", context.Background(), order{}, identity.Person{}, false},
	} {
		if got, ok := identity.PersonFrom(forCustomer(c.ctx, c.o)); ok != c.person || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: acts for %+v (%v), want %+v (%v)", c.name, got, ok, c.want, c.person)
		}
	}
}
