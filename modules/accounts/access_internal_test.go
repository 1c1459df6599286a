package accounts

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	gateway "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/page"
)

// The rules live in the service, not in the handlers: called with a person in
// the ctx, as a handler or a gateway call across processes calls it, the
// service itself refuses what the person may not do.
func TestTheServiceHoldsThePersonToTheRules(t *testing.T) {
	sys := apptest.Start(t, []app.Module{Module()}, app.Config{})
	svc, ok := apptest.Local(t, sys, gateway.Gateway).(*service)
	if !ok {
		t.Fatal("the local accounts gateway is not the module's service")
	}
	var (
		ada     = person(t, "ada", identity.Customer)
		grace   = person(t, "grace", identity.Customer)
		staff   = person(t, "sam", identity.Staff)
		manager = person(t, "max", identity.Manager)
		ops     = person(t, "olive", identity.Operator)
		nobody  = person(t, "nemo")
		system  = t.Context()
	)
	open := func(t *testing.T, ctx context.Context) gateway.Account {
		t.Helper()
		a, err := svc.Open(ctx, OpenAccount{OwnerName: "Ada Lovelace", Email: "ada@example.com"})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return a
	}

	t.Run("a customer opens an account of their own; nobody else opens one", func(t *testing.T) {
		if a := open(t, ada); a.Owner != "ada" {
			t.Errorf("owner %q, want ada", a.Owner)
		}
		for _, ctx := range []context.Context{staff, manager, ops, nobody} {
			_, err := svc.Open(ctx, OpenAccount{OwnerName: "Ada Lovelace", Email: "ada@example.com"})
			wantErr(t, ctx, "Open", err, identity.ErrForbidden)
		}
		if a := open(t, system); a.Owner != "" {
			t.Errorf("the system opened an account owned by %q, want nobody", a.Owner)
		}
	})

	acc := open(t, ada)
	if _, _, err := svc.Deposit(ada, acc.ID, 1000, ""); err != nil {
		t.Fatalf("Ada's deposit: %v", err)
	}
	reads := map[string]func(context.Context, uuid.UUID) error{
		"Account": func(ctx context.Context, id uuid.UUID) error { _, err := svc.Account(ctx, id); return err },
		"Transactions": func(ctx context.Context, id uuid.UUID) error {
			_, err := svc.Transactions(ctx, id, page.Request{})
			return err
		},
		"Notifications": func(ctx context.Context, id uuid.UUID) error {
			_, err := svc.Notifications(ctx, id, page.Request{})
			return err
		},
	}
	moves := map[string]func(context.Context, uuid.UUID) error{
		"Deposit":  func(ctx context.Context, id uuid.UUID) error { _, _, err := svc.Deposit(ctx, id, 1, ""); return err },
		"Withdraw": func(ctx context.Context, id uuid.UUID) error { _, _, err := svc.Withdraw(ctx, id, 1, ""); return err },
	}

	t.Run("the owner, staff and the system read an account; another customer finds none", func(t *testing.T) {
		for name, read := range reads {
			for _, ctx := range []context.Context{ada, staff, system} {
				if err := read(ctx, acc.ID); err != nil {
					t.Errorf("%s for %s: %v", name, who(ctx), err)
				}
			}
			wantErr(t, grace, name, read(grace, acc.ID), gateway.ErrAccountNotFound)
		}
	})

	t.Run("the owner and the system move its money; staff and others do not", func(t *testing.T) {
		for name, move := range moves {
			for _, ctx := range []context.Context{ada, system} {
				if err := move(ctx, acc.ID); err != nil {
					t.Errorf("%s for %s: %v", name, who(ctx), err)
				}
			}
			wantErr(t, grace, name, move(grace, acc.ID), gateway.ErrAccountNotFound)
			wantErr(t, staff, name, move(staff, acc.ID), identity.ErrForbidden)
			customerToo := person(t, "sam", identity.Staff, identity.Customer)
			wantErr(t, customerToo, name, move(customerToo, acc.ID), gateway.ErrAccountNotFound)
		}
	})

	t.Run("a role the route does not admit is refused before anything is looked up", func(t *testing.T) {
		unknown := uuid.New()
		for name, call := range reads {
			for _, ctx := range []context.Context{manager, ops, nobody} {
				wantErr(t, ctx, name, call(ctx, acc.ID), identity.ErrForbidden)
				wantErr(t, ctx, name+" of an unknown account", call(ctx, unknown), identity.ErrForbidden)
			}
		}
		for name, call := range moves {
			for _, ctx := range []context.Context{staff, manager, ops, nobody} {
				wantErr(t, ctx, name, call(ctx, acc.ID), identity.ErrForbidden)
				wantErr(t, ctx, name+" of an unknown account", call(ctx, unknown), identity.ErrForbidden)
			}
		}
	})
}

// person is the ctx of a call made for subject with roles.
func person(t *testing.T, subject string, roles ...identity.Role) context.Context {
	return identity.WithPerson(t.Context(), identity.Person{Subject: subject, Roles: roles})
}

// who names the person of ctx in a failure.

func who(ctx context.Context) string {
	if p, ok := identity.PersonFrom(ctx); ok {
		return p.Subject
	}
	return "the system"
}

// wantErr fails t unless err is want.
func wantErr(t *testing.T, ctx context.Context, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s for %s: %v, want %v", what, who(ctx), err, want)
	}
}
