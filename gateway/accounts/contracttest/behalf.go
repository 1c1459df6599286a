package contracttest

import (
	"context"
	"testing"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/platform/identity"
)

// onBehalf are the cases of calls made on a person's behalf: the person in
// the ctx touches only what they may (see accounts.Accounts), and a module
// that calls on its own authority (identity.WithoutPerson) touches any
// account again.
var onBehalf = []testCase{
	{"On behalf/the owner reads their account and moves its money", func(t *testing.T, s Subject) {
		id := s.NewAccount(t, "USD", 1000)
		ctx := as(t, s.Owner, identity.Customer)
		if a, err := s.Accounts.Get(ctx, id); err != nil || a.ID != id || a.Owner != s.Owner {
			t.Fatalf("the owner's Get = %+v, %v; want account %s of %q", a, err, id, s.Owner)
		}
		got, err := s.Accounts.GetMany(ctx, []uuid.UUID{id, uuid.New()})
		if err != nil || len(got) != 1 || got[0].ID != id {
			t.Fatalf("the owner's GetMany = %v, %v; want their account alone", ids(got), err)
		}
		ref := uuid.NewString()
		if _, err := s.Accounts.Debit(ctx, accounts.Movement{AccountID: id, Amount: 300, Currency: "USD", Reference: ref}); err != nil {
			t.Fatalf("a debit for the owner: %v", err)
		}
		if _, err := s.Accounts.Credit(ctx, accounts.Movement{AccountID: id, Amount: 100, Currency: "USD", Reference: ref}); err != nil {
			t.Fatalf("a credit for the owner: %v", err)
		}
		wantBalance(t, s, id, 800)
	}},
	{"On behalf/someone else's account is unknown and keeps its money", func(t *testing.T, s Subject) {
		id := s.NewAccount(t, "USD", 1000)
		for _, stranger := range []identity.Person{
			{Subject: "stranger-" + uuid.NewString(), Roles: []identity.Role{identity.Customer}},
			{Subject: "stranger-" + uuid.NewString(), Roles: []identity.Role{identity.Manager}},
			{Subject: "stranger-" + uuid.NewString(), Roles: []identity.Role{identity.Operator}},
			{Subject: "stranger-" + uuid.NewString()},
		} {
			ctx := identity.WithPerson(t.Context(), stranger)
			_, err := s.Accounts.Get(ctx, id)
			wantErr(t, "Get for "+stranger.Subject, err, accounts.ErrAccountNotFound)
			got, err := s.Accounts.GetMany(ctx, []uuid.UUID{id, id})
			if err != nil || len(got) != 0 {
				t.Fatalf("GetMany for %s = %v, %v; want nothing, no error", stranger.Subject, ids(got), err)
			}
			wantNoMovement(t, ctx, s, id, "for "+stranger.Subject)
		}
		wantBalance(t, s, id, 1000)
	}},
	{"On behalf/staff read any account and move none", func(t *testing.T, s Subject) {
		id := s.NewAccount(t, "USD", 1000)
		ctx := as(t, "staff-"+uuid.NewString(), identity.Staff)
		if a, err := s.Accounts.Get(ctx, id); err != nil || a.ID != id {
			t.Fatalf("Get for staff = %+v, %v; want account %s", a, err, id)
		}
		if got, err := s.Accounts.GetMany(ctx, []uuid.UUID{id}); err != nil || len(got) != 1 {
			t.Fatalf("GetMany for staff = %v, %v; want account %s", ids(got), err, id)
		}
		wantNoMovement(t, ctx, s, id, "for staff")
		wantBalance(t, s, id, 1000)
	}},
	{"On behalf/a module on its own authority touches any account", func(t *testing.T, s Subject) {
		id := s.NewAccount(t, "USD", 1000)
		ctx := identity.WithoutPerson(as(t, "stranger-"+uuid.NewString(), identity.Customer))
		if _, err := s.Accounts.Get(ctx, id); err != nil {
			t.Fatalf("Get without the person: %v", err)
		}
		if got, err := s.Accounts.GetMany(ctx, []uuid.UUID{id}); err != nil || len(got) != 1 {
			t.Fatalf("GetMany without the person = %v, %v; want account %s", ids(got), err, id)
		}
		if _, err := s.Accounts.Debit(ctx, accounts.Movement{AccountID: id, Amount: 1, Currency: "USD", Reference: uuid.NewString()}); err != nil {
			t.Fatalf("Debit without the person: %v", err)
		}
		wantBalance(t, s, id, 999)
	}},
}

// as is the ctx of a call on behalf of subject with roles.
func as(t *testing.T, subject string, roles ...identity.Role) context.Context {
	return identity.WithPerson(t.Context(), identity.Person{Subject: subject, Roles: roles})
}

// wantNoMovement checks that neither Debit nor Credit, in ctx, touches id:
// each is ErrAccountNotFound, as for an account that does not exist.
func wantNoMovement(t *testing.T, ctx context.Context, s Subject, id uuid.UUID, who string) {
	t.Helper()
	m := accounts.Movement{AccountID: id, Amount: 10, Currency: "USD", Reference: uuid.NewString()}
	_, err := s.Accounts.Debit(ctx, m)
	wantErr(t, "Debit "+who, err, accounts.ErrAccountNotFound)
	_, err = s.Accounts.Credit(ctx, m)
	wantErr(t, "Credit "+who, err, accounts.ErrAccountNotFound)
}
