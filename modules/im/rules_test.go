package im

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/google/uuid"

	accountsgw "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/gateway/im"
	"github.com/uberservice/uberservice/modules/accounts"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/page"
)

// The rules of who may touch im's records, held in the service: each method
// is called with a context made for a person, as the public API's
// middleware makes it, or for none, as an event handler runs.

// rulesWorld is im's service over a running system's im schema, asking
// accounts through a gateway that notes whom each call was made for.
type rulesWorld struct {
	*apptest.System
	svc   *service
	asked *askedFor
}

func startRules(t *testing.T) rulesWorld {
	t.Helper()
	sys := apptest.Start(t, []app.Module{accounts.Module(), Module()}, app.Config{})
	asked := &askedFor{Accounts: apptest.Local(t, sys, accountsgw.Gateway)}
	svc := &service{db: sys.SchemaAs(t, im.Name), accounts: asked, log: apptest.Logger(t)}
	return rulesWorld{System: sys, svc: svc, asked: asked}
}

// openAccount opens an account through accounts' public API, as a customer
// of its own.
func (w rulesWorld) openAccount(t *testing.T) uuid.UUID {
	t.Helper()
	var a accountsgw.Account
	apptest.Do(t, http.MethodPost, w.URL("accounts")+"/v1/accounts",
		map[string]any{"owner_name": "Bob Owner", "email": "bob@owners.example"},
		w.Person(t, "customer-"+uuid.NewString(), identity.Customer)...).
		Expect(t, http.StatusCreated).Decode(t, &a)
	return a.ID
}

// newManager creates a manager for subject, on im's own authority.
func (w rulesWorld) newManager(t *testing.T, subject string) im.Manager {
	t.Helper()
	bps := 100
	code := "RULES-" + uuid.NewString()
	m, err := w.svc.CreateManager(context.Background(), NewManager{Subject: subject, Name: subject,
		Email: "manager@managers.example", ReferralCode: code, CommissionBps: &bps})
	if err != nil {
		t.Fatalf("create manager %s: %v", subject, err)
	}
	return m
}

// askedFor is an accounts gateway that notes the person of every call made
// to it, "" for a call made for none.
type askedFor struct {
	accountsgw.Accounts
	mu      sync.Mutex
	persons []string
}

func (a *askedFor) note(ctx context.Context) {
	p, _ := identity.PersonFrom(ctx)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.persons = append(a.persons, p.Subject)
}

func (a *askedFor) Get(ctx context.Context, id uuid.UUID) (accountsgw.Account, error) {
	a.note(ctx)
	return a.Accounts.Get(ctx, id)
}

func (a *askedFor) GetMany(ctx context.Context, ids []uuid.UUID) ([]accountsgw.Account, error) {
	a.note(ctx)
	return a.Accounts.GetMany(ctx, ids)
}

func (a *askedFor) calls() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.persons...)
}

func as(p identity.Person) context.Context { return identity.WithPerson(context.Background(), p) }

func person(subject string, roles ...identity.Role) identity.Person {
	return identity.Person{Subject: subject, Roles: roles}
}

// A manager reads their own record and book, staff read any, and anyone
// else is refused: by role (403) before anything is looked up, or as if
// another manager's record did not exist (404).
func TestServiceLetsManagersReadTheirOwnRecordAndStaffAny(t *testing.T) {
	t.Parallel()
	w := startRules(t)
	ada, grace := w.newManager(t, "ada"), w.newManager(t, "grace")
	legacy := w.newManager(t, "legacy")
	if err := w.svc.db.Exec("UPDATE managers SET subject = '' WHERE id = ?", legacy.ID).Error; err != nil {
		t.Fatal(err)
	}

	reads := map[string]func(ctx context.Context, id uuid.UUID) error{
		"GetManager": func(ctx context.Context, id uuid.UUID) error { _, err := w.svc.GetManager(ctx, id); return err },
		"Summary":    func(ctx context.Context, id uuid.UUID) error { _, err := w.svc.Summary(ctx, id); return err },
		"Commissions": func(ctx context.Context, id uuid.UUID) error {
			_, err := w.svc.Commissions(ctx, id, page.Request{Limit: 10})
			return err
		},
		"Notifications": func(ctx context.Context, id uuid.UUID) error {
			_, err := w.svc.Notifications(ctx, id, page.Request{Limit: 10})
			return err
		},
	}
	cases := []struct {
		name    string
		ctx     context.Context
		manager uuid.UUID
		want    error // nil, identity.ErrForbidden or im.ErrManagerNotFound
	}{
		{"the manager, their own", as(person("ada", identity.Manager)), ada.ID, nil},
		{"a customer who is also the manager, their own", as(person("ada", identity.Customer, identity.Manager)), ada.ID, nil},
		{"staff, any manager", as(person("support", identity.Staff)), grace.ID, nil},
		{"staff, a manager recorded before subjects", as(person("support", identity.Staff)), legacy.ID, nil},
		{"im itself, any manager", context.Background(), ada.ID, nil},
		{"another manager", as(person("grace", identity.Manager)), ada.ID, im.ErrManagerNotFound},
		{"a manager, one recorded before subjects", as(person("grace", identity.Manager)), legacy.ID, im.ErrManagerNotFound},
		{"the manager's person, as a customer only", as(person("ada", identity.Customer)), ada.ID, identity.ErrForbidden},
		{"an operator", as(person("ops", identity.Operator)), ada.ID, identity.ErrForbidden},
		{"a person of no role", as(person("nobody")), ada.ID, identity.ErrForbidden},
		{"a customer, a manager that does not exist", as(person("bob", identity.Customer)), uuid.New(), identity.ErrForbidden},
	}
	for _, c := range cases {
		for name, read := range reads {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				err := read(c.ctx, c.manager)
				if (c.want == nil && err != nil) || (c.want != nil && !errors.Is(err, c.want)) {
					t.Errorf("%s: %v, want %v", name, err, c.want)
				}
			})
		}
	}
}

// Staff alone create managers and link accounts, and never to a manager
// record of their own; a manager unlinks from their own record only. im
// asks accounts on its own authority, whoever the call is for.
func TestServiceLetsStaffCreateAndLinkAndManagersUnlink(t *testing.T) {
	t.Parallel()
	w := startRules(t)
	ada, grace := w.newManager(t, "ada"), w.newManager(t, "grace")
	staff := as(person("support", identity.Staff))
	bps := 100
	create := func(ctx context.Context, subject string) error {
		_, err := w.svc.CreateManager(ctx, NewManager{Subject: subject, Name: "Eve Manager",
			Email: "eve@managers.example", ReferralCode: "RULES-" + uuid.NewString(), CommissionBps: &bps})
		return err
	}
	for _, refused := range []identity.Person{person("eve", identity.Manager), person("eve", identity.Customer), person("eve", identity.Operator)} {
		if err := create(as(refused), "eve"); !errors.Is(err, identity.ErrForbidden) {
			t.Errorf("%v creating a manager: %v, want ErrForbidden", refused.Roles, err)
		}
	}
	if err := create(staff, "eve"); err != nil {
		t.Fatalf("staff creating a manager: %v", err)
	}
	if err := create(staff, "eve"); !errors.Is(err, ErrSubjectTaken) {
		t.Errorf("a second manager record for one person: %v, want ErrSubjectTaken", err)
	}

	t.Log("linking")
	account := w.openAccount(t)
	if _, _, err := w.svc.Link(as(person("ada", identity.Manager)), ada.ID, account); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("a manager linking to themselves: %v, want ErrForbidden", err)
	}
	if _, _, err := w.svc.Link(as(person("ada", identity.Staff, identity.Manager)), ada.ID, account); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("staff linking to their own manager record: %v, want ErrForbidden", err)
	}
	if _, _, err := w.svc.Link(as(person("ada", identity.Customer)), grace.ID, account); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("a customer linking: %v, want ErrForbidden", err)
	}
	if m, found, _ := w.svc.ManagerOf(context.Background(), account); found {
		t.Fatalf("refused links linked the account to %s", m.ID)
	}
	if _, created, err := w.svc.Link(as(person("ada", identity.Staff, identity.Manager)), grace.ID, account); err != nil || !created {
		t.Fatalf("staff who manage linking to another manager: created %v, %v", created, err)
	}

	t.Log("unlinking")
	if err := w.svc.Unlink(as(person("ada", identity.Manager)), grace.ID, account); !errors.Is(err, im.ErrManagerNotFound) {
		t.Errorf("another manager unlinking: %v, want ErrManagerNotFound", err)
	}
	if err := w.svc.Unlink(as(person("bob", identity.Customer)), grace.ID, account); !errors.Is(err, identity.ErrForbidden) {
		t.Errorf("a customer unlinking: %v, want ErrForbidden", err)
	}
	if m, found, _ := w.svc.ManagerOf(context.Background(), account); !found || m.ID != grace.ID {
		t.Fatalf("after refused unlinks the account's manager is %v (found %v), want Grace", m.ID, found)
	}
	if _, err := w.svc.Summary(as(person("grace", identity.Manager)), grace.ID); err != nil {
		t.Fatalf("Grace's summary: %v", err)
	}
	if err := w.svc.Unlink(as(person("grace", identity.Manager)), grace.ID, account); err != nil {
		t.Errorf("the manager unlinking: %v", err)
	}
	if _, _, err := w.svc.Link(staff, grace.ID, account); err != nil {
		t.Fatalf("staff linking again: %v", err)
	}
	if err := w.svc.Unlink(staff, grace.ID, account); err != nil {
		t.Errorf("staff unlinking: %v", err)
	}

	// The link's check of the account (twice) and Grace's summary: each
	// asked accounts as im, though people asked im.
	calls := w.asked.calls()
	if len(calls) != 3 {
		t.Errorf("accounts was asked %d times, want 3: %q", len(calls), calls)
	}
	for _, p := range calls {
		if p != "" {
			t.Errorf("im asked accounts for person %q, want on its own authority", p)
		}
	}
}
