package apptest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/peerauth"
)

// Harness is the name the tests call gateways over HTTP as (Remote): a
// module of their own, declared beside the ones under test and never
// started, that uses every gateway, since the internal API admits no caller
// that no module declaration names.
const Harness = "apptest"

// harness is the Harness module for the modules all.
func harness(all []app.Module) app.Module {
	m := app.Module{Name: Harness, Init: func(context.Context, *app.Env) error { return nil }}
	for _, other := range all {
		m.Uses = append(m.Uses, app.Dependency{Gateway: other.Name, Optional: true})
	}
	return m
}

// keysDir is where the tests' key set lives: one folder for every test
// process on the machine, each making the keys it lacks (peerauth's
// EnsureDevelopment is safe for processes that do that at once), so that
// two systems of one test trust each other and nothing piles up.
var keysDir = filepath.Join(os.TempDir(), "uberservice-apptest-keys")

// keys is the tests' key set, with a key for each of the modules all, the
// Harness and the operator.
func keys(t testing.TB, all []app.Module) *peerauth.KeySet {
	t.Helper()
	names := []string{Harness, peerauth.Operator}
	for _, m := range all {
		names = append(names, m.Name)
	}
	if err := peerauth.EnsureDevelopment(keysDir, names...); err != nil {
		t.Fatalf("apptest: key set: %v", err)
	}
	set, err := peerauth.Load(keysDir)
	if err != nil {
		t.Fatalf("apptest: key set: %v", err)
	}
	return set
}

// Operator is the Authorization header of an operator, as `uberservice keys
// token` makes it: what the ops routes ask for.
func (s *System) Operator(t testing.TB) []string {
	t.Helper()
	return []string{"Authorization", "Bearer " + s.token(t, peerauth.Operator, peerauth.OpsAudience, peerauth.Operator)}
}

// As is the Authorization header of module calling gateway: what a call of
// the internal API carries.
func (s *System) As(t testing.TB, module, gateway string) []string {
	t.Helper()
	return []string{"Authorization", "Bearer " + s.token(t, module, gateway)}
}

func (s *System) token(t testing.TB, name, audience string, roles ...string) string {
	t.Helper()
	signer, err := s.Keys.Signer(name)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	token, err := signer.Mint(audience, 10*time.Minute, roles...)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	return token
}

// people is the development issuer of the tests' key set: every system of
// every test trusts its tokens.
func people(t testing.TB) *identity.Issuer {
	t.Helper()
	iss, err := identity.Development(keysDir)
	if err != nil {
		t.Fatalf("apptest: the development issuer: %v", err)
	}
	return iss
}

// Person is the Authorization header of a person with roles, as `uberservice
// token` makes it: what the public API asks for.
func (s *System) Person(t testing.TB, subject string, roles ...identity.Role) []string {
	t.Helper()
	token, err := people(t).Mint(subject, roles, 10*time.Minute)
	if err != nil {
		t.Fatalf("apptest: a token for %s: %v", subject, err)
	}
	return []string{"Authorization", "Bearer " + token}
}
