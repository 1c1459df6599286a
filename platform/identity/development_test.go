package identity_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/identity"
	it "github.com/uberservice/uberservice/platform/identity/identitytest"
	"github.com/uberservice/uberservice/platform/peerauth"
)

func development(t *testing.T, dir string) *identity.Issuer {
	t.Helper()
	iss, err := identity.Development(dir)
	if err != nil {
		t.Fatal(err)
	}
	return iss
}

func jwks(t *testing.T, iss *identity.Issuer) []byte {
	t.Helper()
	res, err := iss.Client().Get(identity.DevelopmentIssuer + "/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET the JWKS: %d, %v", res.StatusCode, err)
	}
	return body
}

// The development issuer keeps its key in the development key set's
// folder, for its owner's eyes only, and uses the same key from one run to
// the next: its tokens verify, through the production code path, by
// another process's verifier.
func TestDevelopmentIssuer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	iss := development(t, dir)
	info, err := os.Stat(filepath.Join(dir, identity.DevelopmentKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("the key's mode is %v, want 0600", info.Mode().Perm())
	}
	token, err := iss.Mint("ann", []identity.Role{identity.Manager, identity.Customer}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	again := development(t, dir)
	p := accepted(t, verifier(t, again.Config()), token)
	if p.Subject != "ann" || !p.Has(identity.Manager) || !p.Has(identity.Customer) {
		t.Errorf("got %+v", p)
	}
	if keys := jwks(t, iss); bytes.Contains(keys, []byte(`"d"`)) || !bytes.Contains(keys, []byte(`"x"`)) {
		t.Errorf("the JWKS is not the public key alone: %s", keys)
	}
}

func TestDevelopmentMintRefusesWhatNoTokenShouldSay(t *testing.T) {
	iss := development(t, t.TempDir())
	for _, c := range []struct {
		subject string
		roles   []identity.Role
		ttl     time.Duration
	}{
		{"", nil, time.Hour},
		{"ann\n", nil, time.Hour},
		{strings.Repeat("a", identity.MaxSubjectLen+1), nil, time.Hour},
		{"ann", []identity.Role{"root"}, time.Hour},
		{"ann", nil, 0},
		{"ann", nil, identity.MaxDevelopmentTTL + time.Second},
	} {
		if _, err := iss.Mint(c.subject, c.roles, c.ttl); err == nil {
			t.Errorf("minted a token for %q, %v, %s", c.subject, c.roles, c.ttl)
		}
	}
}

// Processes that start together make one key between them.
func TestDevelopmentIssuersStartingAtOnceAgree(t *testing.T) {
	dir := t.TempDir()
	issuers := make([]*identity.Issuer, 8)
	errs := make([]error, len(issuers))
	var wg sync.WaitGroup
	for i := range issuers {
		wg.Go(func() { issuers[i], errs[i] = identity.Development(dir) })
	}
	wg.Wait()
	for i, iss := range issuers {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(jwks(t, iss), jwks(t, issuers[0])) {
			t.Fatal("two issuers of one folder have different keys")
		}
	}
}

// The key lives beside the modules' keys, which peerauth still reads.
func TestDevelopmentKeyLeavesTheKeySetAlone(t *testing.T) {
	dir := t.TempDir()
	if err := peerauth.EnsureDevelopment(dir, peerauth.Operator, "orders"); err != nil {
		t.Fatal(err)
	}
	development(t, dir)
	if _, err := peerauth.Load(dir); err != nil {
		t.Fatalf("the key set with the development issuer's key in it: %v", err)
	}
}

// Its client reaches the development issuer alone, and no network.
func TestDevelopmentClientReachesNothingElse(t *testing.T) {
	iss := development(t, t.TempDir())
	for _, url := range []string{"http://development.uberservice.invalid/jwks.json", "https://example.com/"} {
		if res, err := iss.Client().Get(url); err == nil {
			res.Body.Close()
			t.Errorf("GET %s: %s", url, res.Status)
		}
	}
	res, err := iss.Client().Get(identity.DevelopmentIssuer + "/nothing")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("GET an unknown path: %s", res.Status)
	}
	// A verifier with any other client cannot reach it: the name never
	// resolves.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := identity.NewVerifier(ctx, identity.Config{Issuer: identity.DevelopmentIssuer}); err == nil {
		t.Error("a verifier reached the development issuer over the network")
	}
}

// Tokens of one issuer never pass for another's: the development issuer's
// above all.
func TestIssuersDoNotTrustEachOther(t *testing.T) {
	iss := it.New(t)
	v := verifier(t, iss.Config())
	dev, err := identity.Development(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	devV := verifier(t, dev.Config())
	devToken, err := dev.Mint("ann", []identity.Role{identity.Staff}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	accepted(t, devV, devToken)
	refused(t, v, devToken, "does not publish")
	refused(t, devV, iss.Mint(t, "ann"), "does not publish")
	refused(t, devV, iss.Mint(t, "ann", it.IssuedBy(identity.DevelopmentIssuer)), "does not publish")
}
