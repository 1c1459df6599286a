package im_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"

	"github.com/google/uuid"

	imgw "github.com/uberservice/uberservice/gateway/im"
	"github.com/uberservice/uberservice/modules/accounts"
	"github.com/uberservice/uberservice/modules/im"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// Every route of im's public API holds to its rule: no token is 401; a role
// the route does not admit is 403; a manager naming another manager's record
// is 404; the person the route is for gets through. Staff create managers and
// link accounts; a manager reads their own book and unlinks from it.
func TestEveryRouteRefusesStrangers(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	ada, grace := w.newManager(t, "Ada Manager", 150), w.newManager(t, "Grace Manager", 100)
	adas, graces, free := w.openAccount(t, "Bob", "bob@owners.example", ""),
		w.openAccount(t, "Carol", "carol@owners.example", ""), w.openAccount(t, "Dan", "dan@owners.example", "")
	w.link(t, ada.ID, adas.ID).Expect(t, http.StatusCreated)
	w.link(t, grace.ID, graces.ID).Expect(t, http.StatusCreated)

	own, other := w.im("/v1/managers/"+ada.ID.String()), w.im("/v1/managers/"+grace.ID.String())
	self, staff := w.as(t, ada), w.staff(t)
	staffOnly, readers := []identity.Role{identity.Staff}, []identity.Role{identity.Manager, identity.Staff}
	w.RefusesStrangers(t, "im",
		apptest.Access{Method: "POST", URL: w.im("/v1/managers"), Roles: staffOnly, Owner: staff,
			Body: `{"subject":"barbara","name":"Barbara Manager","email":"barbara@im.example","referral_code":"BARBARA-1","commission_bps":100}`},
		apptest.Access{Method: "GET", URL: own, Roles: readers, Owner: self, Foreign: other},
		apptest.Access{Method: "POST", URL: own + "/accounts", Roles: staffOnly, Owner: staff,
			Body: `{"account_id":"` + free.ID.String() + `"}`},
		apptest.Access{Method: "DELETE", URL: own + "/accounts/" + adas.ID.String(), Roles: readers, Owner: self,
			Foreign: other + "/accounts/" + graces.ID.String()},
		apptest.Access{Method: "GET", URL: own + "/summary", Roles: readers, Owner: self, Foreign: other + "/summary"},
		apptest.Access{Method: "GET", URL: own + "/commissions", Roles: readers, Owner: self, Foreign: other + "/commissions"},
		apptest.Access{Method: "GET", URL: own + "/notifications", Roles: readers, Owner: self, Foreign: other + "/notifications"},
	)

	t.Log("what the strangers asked changed nothing; what the owners asked was done once")
	var managers int64
	if err := w.Schema(t, imgw.Name).Raw("SELECT count(*) FROM managers").Scan(&managers).Error; err != nil {
		t.Fatal(err)
	}
	if managers != 3 {
		t.Errorf("%d managers, want Ada, Grace and Barbara", managers)
	}
	for account, want := range map[uuid.UUID]*imgw.Manager{adas.ID: nil, graces.ID: &grace, free.ID: &ada} {
		got := w.managerOf(t, account)
		if (got == nil) != (want == nil) || (got != nil && got.ID != want.ID) {
			t.Errorf("manager of %s = %+v, want %+v", account, got, want)
		}
	}
}

// Staff read any manager's record and book, for support. A manager cannot
// link an account to themselves, even one who is staff too.
func TestStaffSupportButNeverLinkToThemselves(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	ada := w.newManager(t, "Ada Manager", 150)
	account := w.openAccount(t, "Bob", "bob@owners.example", "")
	for _, path := range []string{"", "/summary", "/commissions", "/notifications"} {
		apptest.Do(t, http.MethodGet, w.im("/v1/managers/"+ada.ID.String()+path), nil, w.staff(t)...).Expect(t, http.StatusOK)
	}

	w.linkAs(t, w.as(t, ada), ada.ID, account.ID).ExpectProblem(t, http.StatusForbidden, "forbidden")
	p := w.linkAs(t, w.Person(t, ada.Subject, identity.Manager, identity.Staff), ada.ID, account.ID).
		ExpectProblem(t, http.StatusForbidden, "forbidden")
	if p["detail"] == "" || p["detail"] == nil {
		t.Errorf("the refusal of a link to oneself does not say why: %v", p)
	}
	if m := w.managerOf(t, account.ID); m != nil {
		t.Fatalf("the account got manager %s", m.ID)
	}
	w.link(t, ada.ID, account.ID).Expect(t, http.StatusCreated)
	w.unlinkAs(t, w.staff(t), ada.ID, account.ID).Expect(t, http.StatusNoContent)
}

// A person holds one manager record, however many staff create one at once:
// one is created, the others are 409 subject_has_manager, never a 500 nor a
// referral code mistaken for the conflict.
func TestOneManagerRecordPerPerson(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	responses := apptest.Race(8, func(i int) apptest.Response {
		code := uniqueCode("RACE")
		return apptest.Do(t, http.MethodPost, w.im("/v1/managers"), map[string]any{"subject": "ada",
			"name": "Ada Manager", "email": code + "@managers.example", "referral_code": code, "commission_bps": 100,
		}, w.staff(t)...)
	})
	created := 0
	for _, res := range responses {
		if res.Status == http.StatusCreated {
			created++
			continue
		}
		res.ExpectProblem(t, http.StatusConflict, "subject_has_manager")
	}
	if created != 1 {
		t.Errorf("%d manager records for one person, want 1", created)
	}
}

// im's gateway has no rule per person: asked on behalf of anyone, in
// process or over HTTP, it answers as it answers im's peers. The portal asks
// for a customer whom accounts has let see the account.
func TestGatewayAnswersOnAnyonesBehalf(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	ada := w.newManager(t, "Ada Manager", 150)
	account := w.openAccount(t, "Bob", "bob@owners.example", "")
	w.link(t, ada.ID, account.ID).Expect(t, http.StatusCreated)

	apptest.EachImplementation(t, w.System, imgw.Gateway, func(t *testing.T, impl imgw.IM) {
		for _, p := range []identity.Person{
			{Subject: "bob", Roles: []identity.Role{identity.Customer}},
			{Subject: "grace", Roles: []identity.Role{identity.Manager}},
			{Subject: "nobody"},
		} {
			ctx := identity.WithPerson(t.Context(), p)
			m, found, err := impl.ManagerOf(ctx, account.ID)
			if err != nil || !found || m.ID != ada.ID || m.Subject != ada.Subject {
				t.Errorf("ManagerOf for %s: %+v, found %v, %v; want Ada", p.Subject, m, found, err)
			}
			if m, err := impl.Manager(ctx, ada.ID); err != nil || m.ID != ada.ID {
				t.Errorf("Manager for %s: %+v, %v; want Ada", p.Subject, m, err)
			}
		}
	})
}

// Across processes too, im asks accounts on its own authority: whether an
// account it links exists, and the balances of a summary, carry no person,
// though a person asked im.
func TestIMAsksAccountsAsItself(t *testing.T) {
	t.Parallel()
	both := []app.Module{accounts.Module(), im.Module()}
	acc := apptest.Start(t, both, app.Config{Modules: []string{"accounts"}})
	seen := &personHeaders{}
	w := world{apptest.Start(t, both, app.Config{Modules: []string{"im"},
		Peers: map[string]string{"accounts": seen.proxy(t, acc.InternalURL("accounts"))},
	})}
	ada := w.newManager(t, "Ada Manager", 150)
	account := world{acc}.openAccount(t, "Bob", "bob@owners.example", "")

	w.link(t, ada.ID, account.ID).Expect(t, http.StatusCreated)
	if s := w.summary(t, ada); len(s.Accounts) != 1 || s.Accounts[0].AccountID != account.ID {
		t.Fatalf("summary = %+v", s)
	}
	calls := seen.values()
	if len(calls) != 2 {
		t.Fatalf("accounts was called %d times, want the link's check and the summary's balances", len(calls))
	}
	for _, h := range calls {
		if h != "" {
			t.Errorf("im called accounts with %s %q, want none", identity.PersonHeader, h)
		}
	}
}

// personHeaders is a proxy in front of a module's internal API that notes
// the person header of every call through it.
type personHeaders struct {
	mu   sync.Mutex
	seen []string
}

func (p *personHeaders) proxy(t *testing.T, target string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	forward := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.seen = append(p.seen, r.Header.Get(identity.PersonHeader))
		p.mu.Unlock()
		forward.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func (p *personHeaders) values() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}
