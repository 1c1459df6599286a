// Package contracttest is the suite every implementation of im.IM must pass.
// The im module runs it against its local implementation and against the HTTP
// client talking to its server binding, so that a caller gets the same answers,
// the same errors and the same DTOs whichever one the runtime hands it.
package contracttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/gateway/im"
)

// Subject is one implementation under test and the fixtures the suite needs to
// set up state. The fixtures must not go through IM: the contract only reads,
// so managers and links are made by other means (the im module's public API).
type Subject struct {
	// IM is the implementation under test.
	IM im.IM
	// NewManager creates a manager with the subject, name, email, referral
	// code and commission of m, and returns it as created (with its id and
	// created_at).
	NewManager func(t testing.TB, m im.Manager) im.Manager
	// NewAccount opens an account that the accounts context knows and that has
	// no manager.
	NewAccount func(t testing.TB) uuid.UUID
	// Link makes managerID the manager of accountID.
	Link func(t testing.TB, managerID, accountID uuid.UUID)
}

// Run runs the suite. newSubject is called once per case; subjects may share
// one running system, since every case makes its own managers and accounts.
func Run(t *testing.T, newSubject func(t *testing.T) Subject) {
	t.Run("Manager returns the manager as created", func(t *testing.T) {
		s := newSubject(t)
		want := s.NewManager(t, manager("Ada Lovelace", 150))
		got, err := s.IM.Manager(context.Background(), want.ID)
		if err != nil {
			t.Fatalf("Manager(%s): %v", want.ID, err)
		}
		sameManager(t, got, want)
	})

	t.Run("Manager of an unknown id is ErrManagerNotFound", func(t *testing.T) {
		s := newSubject(t)
		for _, id := range []uuid.UUID{uuid.New(), uuid.Nil} {
			got, err := s.IM.Manager(context.Background(), id)
			if !errors.Is(err, im.ErrManagerNotFound) {
				t.Fatalf("Manager(%s): error %v, want ErrManagerNotFound", id, err)
			}
			if got != (im.Manager{}) {
				t.Errorf("Manager(%s) with an error returned %+v, want the zero Manager", id, got)
			}
		}
	})

	t.Run("ManagerOf a managed account returns its manager", func(t *testing.T) {
		s := newSubject(t)
		ada := s.NewManager(t, manager("Ada Lovelace", 150))
		grace := s.NewManager(t, manager("Grace Hopper", 0))
		adas, graces := s.NewAccount(t), s.NewAccount(t)
		s.Link(t, ada.ID, adas)
		s.Link(t, grace.ID, graces)
		for account, want := range map[uuid.UUID]im.Manager{adas: ada, graces: grace} {
			got, found, err := s.IM.ManagerOf(context.Background(), account)
			if err != nil || !found {
				t.Fatalf("ManagerOf(%s) = found %v, error %v; want its manager", account, found, err)
			}
			sameManager(t, got, want)
		}
	})

	t.Run("ManagerOf an account without a manager is not found and no error", func(t *testing.T) {
		s := newSubject(t)
		s.NewManager(t, manager("Ada Lovelace", 150)) // managers exist, none manages it
		unmanaged := s.NewAccount(t)
		notFound(t, s.IM, unmanaged)
	})

	t.Run("ManagerOf an account unknown to im is not found and no error", func(t *testing.T) {
		s := newSubject(t)
		notFound(t, s.IM, uuid.New())
		notFound(t, s.IM, uuid.Nil)
	})

	t.Run("a cancelled context fails the call", func(t *testing.T) {
		s := newSubject(t)
		m := s.NewManager(t, manager("Ada Lovelace", 150))
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.IM.Manager(ctx, m.ID); err == nil {
			t.Error("Manager with a cancelled context succeeded, want an error")
		}
		if _, _, err := s.IM.ManagerOf(ctx, uuid.New()); err == nil {
			t.Error("ManagerOf with a cancelled context succeeded, want an error")
		}
	})
}

// manager describes a new manager with a person and a referral code unique
// to this run, so that subjects sharing one database never collide.
func manager(name string, bps int) im.Manager {
	var b [6]byte
	_, _ = rand.Read(b[:])
	code := "CT-" + hex.EncodeToString(b[:])
	return im.Manager{Subject: "person-" + code, Name: name, Email: code + "@managers.example", ReferralCode: code, CommissionBps: bps}
}

func notFound(t *testing.T, impl im.IM, account uuid.UUID) {
	t.Helper()
	got, found, err := impl.ManagerOf(context.Background(), account)
	if err != nil {
		t.Fatalf("ManagerOf(%s): %v, want no error", account, err)
	}
	if found || got != (im.Manager{}) {
		t.Fatalf("ManagerOf(%s) = %+v, found %v; want the zero Manager, not found", account, got, found)
	}
}

// sameManager compares DTOs field by field: created_at by instant, since a time
// read from the database and one decoded from JSON may differ in location only.
func sameManager(t *testing.T, got, want im.Manager) {
	t.Helper()
	if got.ID != want.ID || got.Subject != want.Subject || got.Name != want.Name || got.Email != want.Email ||
		got.ReferralCode != want.ReferralCode || got.CommissionBps != want.CommissionBps ||
		!got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("manager = %+v\nwant      %+v", got, want)
	}
	if got.CreatedAt.IsZero() {
		t.Fatalf("manager %s has no created_at", got.ID)
	}
}
