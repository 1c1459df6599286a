package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/contract"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/peerauth"
	"github.com/uberservice/uberservice/platform/ratelimit"
)

type pingService struct{}

func (pingService) Ping(_ context.Context, id uuid.UUID) (pong, error) { return pong{ID: id}, nil }

// pingWorld is a pinger module, a caller that declares its gateway and a
// stranger that does not, all of one binary; the pinger alone is started.
func pingWorld(t *testing.T) (*apptest.System, []app.Module) {
	t.Helper()
	provider := app.Module{Name: "pinger", Migrations: schema, Init: func(_ context.Context, env *app.Env) error {
		app.Provide(env, pingGateway, pinger(pingService{}))
		return nil
	}}
	noop := func(context.Context, *app.Env) error { return nil }
	caller := app.Module{Name: "caller", Uses: app.Deps(pingGateway), Init: noop}
	stranger := app.Module{Name: "stranger", Init: noop}
	all := []app.Module{provider, caller, stranger}
	return apptest.Start(t, all, app.Config{Modules: []string{"pinger"}}), all
}

// A module's gateway binding and ops routes are served on its internal port
// alone: the public port answers them 404, as any route it does not have.
// Both answer the health probes.
func TestGatewayAndOpsRoutesAreInternalOnly(t *testing.T) {
	t.Parallel()
	sys, _ := pingWorld(t)
	gateway := "/gateway/pinger/v1/pings/" + uuid.NewString()
	for path, auth := range map[string][]string{gateway: sys.As(t, "caller", "pinger"), "/ops/dead-letters": sys.Operator(t)} {
		apptest.Do(t, http.MethodGet, sys.URL("pinger")+path, nil, auth...).ExpectProblem(t, http.StatusNotFound, "not_found")
		apptest.Do(t, http.MethodGet, sys.InternalURL("pinger")+path, nil, auth...).Expect(t, http.StatusOK)
	}
	for _, base := range []string{sys.URL("pinger"), sys.InternalURL("pinger")} {
		apptest.Do(t, http.MethodGet, base+"/healthz", nil).Expect(t, http.StatusOK)
		apptest.Do(t, http.MethodGet, base+"/readyz", nil).Expect(t, http.StatusOK)
	}
}

// A gateway call admits a module that declares the gateway, with its own
// valid token; anyone else is refused: 401 for no token, a bad one, an
// expired one, one for another gateway or one that another module's key
// signed in its name; 403 for a module, or an operator, that does not
// declare the gateway.
func TestGatewayCallsAreTheDeclaredModulesAlone(t *testing.T) {
	t.Parallel()
	sys, _ := pingWorld(t)
	url := sys.InternalURL("pinger") + "/gateway/pinger/v1/pings/" + uuid.NewString()
	expired := func() string {
		signer, err := sys.Keys.Signer("caller")
		if err != nil {
			t.Fatal(err)
		}
		tok, err := signer.Mint("pinger", -time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}()
	bearer := func(h []string) string { return h[1] }
	for _, c := range []struct {
		name   string
		auth   string
		status int
	}{
		{"no token", "", 401},
		{"not a bearer token", "Basic Y2FsbGVyOg==", 401},
		{"garbage", "Bearer nonsense", 401},
		{"expired", "Bearer " + expired, 401},
		{"for another gateway", bearer(sys.As(t, "caller", "accounts")), 401},
		{"a module that does not declare the gateway", bearer(sys.As(t, "stranger", "pinger")), 403},
		{"an operator", bearer(sys.As(t, peerauth.Operator, "pinger")), 403},
		{"the declared caller", bearer(sys.As(t, "caller", "pinger")), 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			var headers []string
			if c.auth != "" {
				headers = []string{"Authorization", c.auth}
			}
			r := apptest.Do(t, http.MethodGet, url, nil, headers...)
			switch c.status {
			case 200:
				r.Expect(t, http.StatusOK)
			case 401:
				r.ExpectProblem(t, 401, "unauthenticated")
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("a 401 without WWW-Authenticate: Bearer: %q", r.Header.Get("WWW-Authenticate"))
				}
			default:
				r.ExpectProblem(t, c.status, "forbidden")
			}
		})
	}
}

// The ops routes admit an operator's token and nobody else: not anonymous
// callers, not modules.
func TestOpsRoutesAreAnOperators(t *testing.T) {
	t.Parallel()
	sys, _ := pingWorld(t)
	url := sys.InternalURL("pinger") + "/ops/dead-letters"
	apptest.Do(t, http.MethodGet, url, nil).ExpectProblem(t, http.StatusUnauthorized, "unauthenticated")
	apptest.Do(t, http.MethodPost, sys.InternalURL("pinger")+"/ops/dead-letters/1/replay", nil).
		ExpectProblem(t, http.StatusUnauthorized, "unauthenticated")
	apptest.Do(t, http.MethodGet, url, nil, sys.As(t, "caller", peerauth.OpsAudience)...).
		ExpectProblem(t, http.StatusForbidden, "forbidden")
	apptest.Do(t, http.MethodGet, url, nil, sys.Operator(t)...).Expect(t, http.StatusOK)
}

// Across processes, Resolve's client calls with the calling module's token,
// and the provider lets it in.
func TestACallAcrossProcessesCarriesTheCallersIdentity(t *testing.T) {
	t.Parallel()
	sys, all := pingWorld(t)
	var got pinger
	all[1].Init = func(_ context.Context, env *app.Env) (err error) {
		got, err = app.Resolve(env, pingGateway)
		return err
	}
	apptest.Start(t, all, app.Config{Modules: []string{"caller"},
		Peers: map[string]string{"pinger": sys.InternalURL("pinger")}})
	id := uuid.New()
	if p, err := got.Ping(t.Context(), id); err != nil || p.ID != id {
		t.Fatalf("a call across the internal port: %v, %v", p, err)
	}
}

// whoCalls is a pinger that answers, as the pong's id, a UUID derived from
// the name of the module that calls it.
type whoCalls struct{}

func (whoCalls) Ping(ctx context.Context, _ uuid.UUID) (pong, error) {
	return pong{ID: uuid.NewSHA1(uuid.Nil, []byte(contract.CallingModule(ctx)))}, nil
}

// A provider learns which module calls it, in one process and across two,
// from the runtime: it never takes a caller's word for it.
func TestAProviderKnowsWhichModuleCalls(t *testing.T) {
	t.Parallel()
	var got pinger
	provider := app.Module{Name: "pinger", Init: func(_ context.Context, env *app.Env) error {
		app.Provide(env, pingGateway, pinger(whoCalls{}))
		return nil
	}}
	caller := app.Module{Name: "caller", Uses: app.Deps(pingGateway), Init: func(_ context.Context, env *app.Env) (err error) {
		got, err = app.Resolve(env, pingGateway)
		return err
	}}
	want := uuid.NewSHA1(uuid.Nil, []byte("caller"))
	all := []app.Module{provider, caller}

	apptest.Start(t, all, app.Config{})
	if p, err := got.Ping(t.Context(), uuid.New()); err != nil || p.ID != want {
		t.Errorf("in one process: %v, %v; want the caller named", p.ID, err)
	}
	sys := apptest.Start(t, all, app.Config{Modules: []string{"pinger"}})
	apptest.Start(t, all, app.Config{Modules: []string{"caller"}, Peers: map[string]string{"pinger": sys.InternalURL("pinger")}})
	if p, err := got.Ping(t.Context(), uuid.New()); err != nil || p.ID != want {
		t.Errorf("across processes: %v, %v; want the caller named", p.ID, err)
	}
}

// forWhom is a pinger that answers, as the pong's id, a UUID derived from the
// person the call is made for ("" for none).
type forWhom struct{}

func (forWhom) Ping(ctx context.Context, _ uuid.UUID) (pong, error) {
	p, _ := identity.PersonFrom(ctx)
	return pong{ID: personID(p)}, nil
}

func personID(p identity.Person) uuid.UUID {
	return uuid.NewSHA1(uuid.Nil, []byte(identity.EncodePerson(p)))
}

// A gateway call made on a person's behalf carries who the person is to the
// provider, in one process and across two, so that the module that owns the
// data can check what the person may touch. A person the caller names in a
// form no module makes is refused, 400.
func TestACallCarriesThePersonItIsMadeFor(t *testing.T) {
	t.Parallel()
	var got pinger
	provider := app.Module{Name: "pinger", Init: func(_ context.Context, env *app.Env) error {
		app.Provide(env, pingGateway, pinger(forWhom{}))
		return nil
	}}
	caller := app.Module{Name: "caller", Uses: app.Deps(pingGateway), Init: func(_ context.Context, env *app.Env) (err error) {
		got, err = app.Resolve(env, pingGateway)
		return err
	}}
	alice := identity.Person{Subject: "alice|ü 1", Roles: []identity.Role{identity.Customer, identity.Staff}}
	ctx := identity.WithPerson(t.Context(), alice)
	all := []app.Module{provider, caller}

	apptest.Start(t, all, app.Config{})
	if p, err := got.Ping(ctx, uuid.New()); err != nil || p.ID != personID(alice) {
		t.Errorf("in one process: %v, %v; want alice", p.ID, err)
	}
	sys := apptest.Start(t, all, app.Config{Modules: []string{"pinger"}})
	apptest.Start(t, all, app.Config{Modules: []string{"caller"}, Peers: map[string]string{"pinger": sys.InternalURL("pinger")}})
	if p, err := got.Ping(ctx, uuid.New()); err != nil || p.ID != personID(alice) {
		t.Errorf("across processes: %v, %v; want alice", p.ID, err)
	}
	if p, err := got.Ping(t.Context(), uuid.New()); err != nil || p.ID != personID(identity.Person{}) {
		t.Errorf("across processes, for nobody: %v, %v; want no person", p.ID, err)
	}
	url := sys.InternalURL("pinger") + "/gateway/pinger/v1/pings/" + uuid.NewString()
	for _, bad := range []string{"not base64!", identity.EncodePerson(identity.Person{}), identity.EncodePerson(identity.Person{Subject: "bob", Roles: []identity.Role{"root"}})} {
		apptest.Do(t, http.MethodGet, url, nil, append(sys.As(t, "caller", "pinger"), identity.PersonHeader, bad)...).
			ExpectProblem(t, http.StatusBadRequest, "invalid_person")
	}
}

// A system the tests start trusts the people's tokens the tests make
// (apptest's Person), and its modules see who such a token names.
func TestTheTestsPeopleAreTheSystemsPeople(t *testing.T) {
	t.Parallel()
	var people *identity.Verifier
	m := app.Module{Name: "pinger", Init: func(_ context.Context, env *app.Env) error {
		people = env.People
		return nil
	}}
	sys := apptest.Start(t, []app.Module{m}, app.Config{})
	if people == nil {
		t.Fatal("the module has no verifier of people's tokens")
	}
	header := sys.Person(t, "alice", identity.Customer)
	p, err := people.Verify(t.Context(), strings.TrimPrefix(header[1], "Bearer "))
	if err != nil || p.Subject != "alice" || !p.Has(identity.Customer) || p.Has(identity.Staff) {
		t.Fatalf("alice's token: %+v, %v", p, err)
	}
}

// Each person has a rate limit of their own on a module's public API: over
// it, 429 with Retry-After, while others go on; the probes have none.
func TestEachPersonHasARateLimit(t *testing.T) {
	t.Parallel()
	m := app.Module{Name: "pinger", Init: func(_ context.Context, env *app.Env) error {
		env.HTTP.GET("/v1/hello", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
		return nil
	}}
	sys := apptest.Start(t, []app.Module{m}, app.Config{RateLimit: ratelimit.Config{PerSecond: 0.01, Burst: 2}})
	url := sys.URL("pinger") + "/v1/hello"
	ann, bob := sys.Person(t, "ann", identity.Customer), sys.Person(t, "bob", identity.Customer)
	apptest.Do(t, http.MethodGet, url, nil, ann...).Expect(t, http.StatusNoContent)
	apptest.Do(t, http.MethodGet, url, nil, ann...).Expect(t, http.StatusNoContent)
	res := apptest.Do(t, http.MethodGet, url, nil, ann...)
	res.ExpectProblem(t, http.StatusTooManyRequests, "rate_limited")
	if got := res.Header.Get("Retry-After"); got != "100" {
		t.Errorf("Retry-After %q, want 100", got)
	}
	apptest.Do(t, http.MethodGet, url, nil, bob...).Expect(t, http.StatusNoContent)
	for range 5 {
		apptest.Do(t, http.MethodGet, sys.URL("pinger")+"/healthz", nil).Expect(t, http.StatusOK)
	}
}
