package app

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/identity"
	it "github.com/uberservice/uberservice/platform/identity/identitytest"
)

// startWithPeople starts one module with no database, which serves GET /v1/hello,
// with cfg's issuer of people's tokens, and returns what Init was given.
func startWithPeople(t *testing.T, people identity.Config) (*System, *Env, error) {
	t.Helper()
	var env *Env
	m := Module{Name: "hello", Init: func(_ context.Context, e *Env) error {
		env = e
		e.HTTP.GET("/v1/hello", func(c echo.Context) error { return c.String(http.StatusOK, "hello") })
		return nil
	}}
	sys, err := Start(context.Background(), []Module{m}, Config{
		Listen: map[string]string{"hello": "127.0.0.1:0"}, InternalListen: map[string]string{"hello": "127.0.0.1:0"},
		Identity: people, Log: slog.New(slog.DiscardHandler),
	})
	if err == nil {
		t.Cleanup(func() { _ = sys.Stop(context.Background()) })
	}
	return sys, env, err
}

// The modules get the verifier of the configured issuer, and their public
// API lets in only the requests that carry a token it verifies; with no
// issuer, none.
func TestModulesGetTheVerifierOfPeoplesTokens(t *testing.T) {
	iss := it.New(t)
	sys, env, err := startWithPeople(t, iss.Config())
	if err != nil {
		t.Fatal(err)
	}
	if env.People == nil || env.People.Issuer() != iss.URL() {
		t.Fatalf("the module's verifier: %+v", env.People)
	}
	p, err := env.People.Verify(context.Background(), iss.Mint(t, "ann", it.Roles("customer")))
	if err != nil || p.Subject != "ann" {
		t.Fatalf("%+v, %v", p, err)
	}
	hello := "http://" + sys.modules[0].public.listener.Addr().String() + "/v1/hello"
	for _, c := range []struct {
		token string
		want  int
	}{
		{"", http.StatusUnauthorized},
		{"garbage", http.StatusUnauthorized},
		{iss.Mint(t, "ann", it.Roles("customer"), it.ExpiresIn(-time.Hour)), http.StatusUnauthorized},
		{iss.Mint(t, "ann", it.Roles("customer")), http.StatusOK},
	} {
		req, _ := http.NewRequest(http.MethodGet, hello, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("token %.20q: %s, want %d", c.token, res.Status, c.want)
		}
		if c.want == http.StatusUnauthorized && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("token %.20q: WWW-Authenticate %q", c.token, res.Header.Get("WWW-Authenticate"))
		}
	}

	sys, env, err = startWithPeople(t, identity.Config{})
	if err != nil || env.People != nil {
		t.Fatalf("with no issuer: %v, %+v", err, env.People)
	}
	res, err := http.Get("http://" + sys.modules[0].public.listener.Addr().String() + "/v1/hello")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("with no issuer, a request: %s, want 401", res.Status)
	}
}

// An issuer that is not there, or not what it is configured as, fails
// start-up, saying so.
func TestStartFailsWithoutTheIssuer(t *testing.T) {
	impostor := it.New(t, it.Advertising("https://login.example.com"))
	_, _, err := startWithPeople(t, impostor.Config())
	if err == nil || !strings.Contains(err.Error(), "--oidc-issuer") || !strings.Contains(err.Error(), "https://login.example.com") {
		t.Fatalf("an impostor's discovery: %v", err)
	}
	gone := it.New(t)
	cfg := gone.Config()
	cfg.Issuer = "http://127.0.0.1:1"
	if _, _, err := startWithPeople(t, cfg); err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Fatalf("an issuer out of reach: %v", err)
	}
}

// With no issuer named, run verifies the tokens of the development issuer
// whose key is in the key set's folder. A deployment's key set that cannot
// hold that key (a read-only Secret without it) fails start-up: nothing could
// verify a person.
func TestRunsIssuerOfPeoplesTokens(t *testing.T) {
	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&logged, nil))
	var f identityFlags
	f.audience, f.rolesClaim = identity.DefaultAudience, identity.DefaultRolesClaim

	dir := t.TempDir()
	cfg, err := f.config(dir, true, log)
	if err != nil || cfg.Issuer != identity.DevelopmentIssuer || cfg.HTTPClient == nil {
		t.Fatalf("the development key set: %+v, %v", cfg, err)
	}
	iss, err := identity.Development(dir)
	if err != nil {
		t.Fatal(err)
	}
	token, err := iss.Mint("ann", nil, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	_, env, err := startWithPeople(t, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.People.Verify(context.Background(), token); err != nil {
		t.Errorf("a token of `uberservice token`: %v", err)
	}

	unwritable := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(unwritable, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	unwritable = filepath.Join(unwritable, "keys")
	if _, err := f.config(unwritable, false, log); err == nil || !strings.Contains(err.Error(), "give --oidc-issuer") {
		t.Errorf("a key set that cannot hold the key: %v, want a usage error that says to give --oidc-issuer", err)
	}
	if _, err := f.config(unwritable, true, log); err == nil {
		t.Error("a development key set that cannot hold the key: no error")
	}

	f.issuer = "https://login.example.com/realms/shop"
	f.rolesClaim = "realm_access.roles"
	if cfg, err := f.config(dir, true, log); err != nil || cfg.Issuer != f.issuer || cfg.RolesClaim != f.rolesClaim || cfg.HTTPClient != nil {
		t.Errorf("an issuer named: %+v, %v", cfg, err)
	}
}
