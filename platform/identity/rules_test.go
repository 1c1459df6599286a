package identity_test

import (
	"context"
	"errors"
	"testing"

	"github.com/uberservice/uberservice/platform/identity"
)

func TestRequire(t *testing.T) {
	staff := identity.WithPerson(context.Background(), identity.Person{Subject: "sam", Roles: []identity.Role{identity.Staff}})
	if err := identity.Require(staff, identity.Customer, identity.Staff); err != nil {
		t.Errorf("staff on a staff route: %v", err)
	}
	if err := identity.Require(staff, identity.Customer); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("staff on a customer's route: %v, want forbidden", err)
	}
	if err := identity.Require(context.Background(), identity.Customer); err != nil {
		t.Errorf("the system's own call: %v", err)
	}
	system := identity.WithoutPerson(staff)
	if _, ok := identity.PersonFrom(system); ok {
		t.Error("WithoutPerson still carries the person")
	}
	if err := identity.Require(system, identity.Customer); err != nil {
		t.Errorf("a module on its own authority: %v", err)
	}
}
