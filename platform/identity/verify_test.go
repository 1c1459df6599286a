package identity_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/identity"
	it "github.com/uberservice/uberservice/platform/identity/identitytest"
)

// verifier is a verifier of cfg's issuer, closed when the test ends.
func verifier(t testing.TB, cfg identity.Config) *identity.Verifier {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := identity.NewVerifier(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := v.Close(); err != nil {
			t.Error(err)
		}
	})
	return v
}

func accepted(t *testing.T, v *identity.Verifier, token string) identity.Person {
	t.Helper()
	p, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatalf("refused a good token: %v", err)
	}
	return p
}

// refused checks that v refuses token for a reason that says why.
func refused(t *testing.T, v *identity.Verifier, token, why string) {
	t.Helper()
	p, err := v.Verify(context.Background(), token)
	if err == nil {
		t.Fatalf("accepted, as %+v, a token it should refuse because %s", p, why)
	}
	var r *identity.RefusedError
	if !errors.Is(err, identity.ErrUnauthenticated) || !errors.As(err, &r) {
		t.Fatalf("refused with %v: want a *RefusedError wrapping ErrUnauthenticated", err)
	}
	if !strings.Contains(r.Reason, why) {
		t.Errorf("refused because %q, want %q", r.Reason, why)
	}
	if len(token) > 20 && strings.Contains(err.Error(), token) {
		t.Error("the error quotes the token")
	}
}

func TestRS256AndES256TokensVerify(t *testing.T) {
	for _, alg := range []string{it.RS256, it.ES256} {
		t.Run(alg, func(t *testing.T) {
			iss := it.New(t, it.SigningWith(alg))
			v := verifier(t, iss.Config())
			p := accepted(t, v, iss.Mint(t, "ann", it.Roles("customer", "staff")))
			if p.Subject != "ann" || !slices.Equal(p.Roles, []identity.Role{identity.Customer, identity.Staff}) {
				t.Errorf("got %+v", p)
			}
			other := it.RS256
			if alg == it.RS256 {
				other = it.ES256
			}
			accepted(t, v, iss.Mint(t, "ann", it.SignedWith(other)))
		})
	}
}

// The issuer rotates its key: the new key's tokens verify once the keys
// are fetched again, which a token of an unknown key makes the verifier do,
// and the old key's still verify, until they expire. Tokens of made-up
// keys make it fetch the keys once in a while at most.
func TestKeyRotation(t *testing.T) {
	iss := it.New(t)
	v := verifier(t, iss.Config())
	old := iss.Mint(t, "ann")
	oldExpired := iss.Mint(t, "ann", it.ExpiresIn(-time.Hour))
	if n := iss.JWKSFetches(); n != 1 {
		t.Fatalf("the keys were fetched %d times at start, want once", n)
	}
	iss.Rotate(t)
	accepted(t, v, iss.Mint(t, "bob"))
	if n := iss.JWKSFetches(); n != 2 {
		t.Fatalf("the keys were fetched %d times after a token of the new key, want twice", n)
	}
	accepted(t, v, old)
	refused(t, v, oldExpired, "expired")

	// Within the gap, no token makes the verifier fetch the keys again: not
	// one of a made-up key, nor one of yet another rotation.
	for i := range 20 {
		refused(t, v, iss.Mint(t, "mallory", it.KeyID("made-up-"+string(rune('a'+i)))), "does not publish")
	}
	iss.Rotate(t)
	newer := iss.Mint(t, "bob")
	refused(t, v, newer, "does not publish")
	if n := iss.JWKSFetches(); n != 2 {
		t.Fatalf("the keys were fetched %d times, want still twice", n)
	}
	identity.SetRefreshGap(v, 0)
	accepted(t, v, newer)
	if n := iss.JWKSFetches(); n != 3 {
		t.Fatalf("the keys were fetched %d times after the gap, want 3", n)
	}
}

// A token that verified is not checked again until it expires, but only
// while the issuer publishes its key: once the key is retired and the keys
// fetched again, the same token is refused.
func TestVerifiedTokensAreCachedWhileTheirKeyIsPublished(t *testing.T) {
	iss := it.New(t, it.SigningWith(it.ES256))
	v := verifier(t, iss.Config())
	old := iss.Mint(t, "ann", it.Roles("customer"))
	first := accepted(t, v, old)
	again := accepted(t, v, old)
	if again.Subject != first.Subject || !slices.Equal(again.Roles, first.Roles) {
		t.Fatalf("the cached answer %+v differs from the first %+v", again, first)
	}
	iss.Rotate(t)
	iss.Retire(t)
	identity.SetRefreshGap(v, 0)
	accepted(t, v, iss.Mint(t, "bob")) // a new key's token: the keys are fetched again
	refused(t, v, old, "does not publish")
}

func TestTimesAllowForSkew(t *testing.T) {
	iss := it.New(t)
	v := verifier(t, iss.Config()) // skew 30s by default
	accepted(t, v, iss.Mint(t, "ann", it.ExpiresIn(-10*time.Second)))
	refused(t, v, iss.Mint(t, "ann", it.ExpiresIn(-2*time.Minute)), "expired")
	accepted(t, v, iss.Mint(t, "ann", it.NotBefore(time.Now().Add(10*time.Second))))
	refused(t, v, iss.Mint(t, "ann", it.NotBefore(time.Now().Add(2*time.Minute))), "not valid yet")
	refused(t, v, iss.Mint(t, "ann", it.IssuedAt(time.Now().Add(2*time.Minute))), "issued in the future")
	refused(t, v, iss.Mint(t, "ann", it.Without("exp")), "has no exp")

	cfg := iss.Config()
	cfg.Skew = 5 * time.Minute
	lenient := verifier(t, cfg)
	accepted(t, lenient, iss.Mint(t, "ann", it.ExpiresIn(-2*time.Minute)))
}

func TestClaimsMustBeOurs(t *testing.T) {
	iss := it.New(t)
	v := verifier(t, iss.Config())
	refused(t, v, iss.Mint(t, "ann", it.IssuedBy("https://elsewhere.example")), "another issuer")
	refused(t, v, iss.Mint(t, "ann", it.Audience("another-api")), "another audience")
	refused(t, v, iss.Mint(t, "ann", it.Without("aud")), "another audience")
	accepted(t, v, iss.Mint(t, "ann", it.Audience("another-api", identity.DefaultAudience)))
	refused(t, v, iss.Mint(t, "ann", it.Without("sub")), "has no sub")
	refused(t, v, iss.Mint(t, ""), "subject is empty")
	refused(t, v, iss.Mint(t, "ann\x00"), "control character")
}

func TestForgeriesAreRefused(t *testing.T) {
	iss := it.New(t)
	v := verifier(t, iss.Config())
	refused(t, v, iss.Mint(t, "ann", it.Unpublished()), "does not publish")
	refused(t, v, iss.Mint(t, "ann", it.SignedWith("none")), "signed with")
	refused(t, v, iss.Mint(t, "ann", it.SignedWith("HS256")), `signed with "HS256"`)
	good := iss.Mint(t, "ann")
	parts := strings.Split(good, ".")
	other := strings.Split(iss.Mint(t, "root", it.Roles("staff")), ".")
	refused(t, v, parts[0]+"."+other[1]+"."+parts[2], "signature does not verify")
	refused(t, v, "garbage", "not a signed JWT")
	refused(t, v, "", "no token")
	refused(t, v, strings.Repeat("a", 20<<10), "bytes long")
}

func TestRolesClaimShapes(t *testing.T) {
	iss := it.New(t)
	roles := func(v *identity.Verifier, opts ...it.MintOption) []identity.Role {
		t.Helper()
		return accepted(t, v, iss.Mint(t, "ann", opts...)).Roles
	}
	want := func(got []identity.Role, want ...identity.Role) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("roles %v, want %v", got, want)
		}
	}
	v := verifier(t, iss.Config())
	want(roles(v, it.Roles("manager", "offline_access", "manager", "operator")), identity.Manager, identity.Operator)
	want(roles(v, it.Claim("roles", " staff  customer bogus ")), identity.Staff, identity.Customer)
	want(roles(v))
	want(roles(v, it.Claim("roles", nil)))
	refused(t, v, iss.Mint(t, "ann", it.Claim("roles", 42)), "roles claim")

	cfg := iss.Config()
	cfg.RolesClaim = "realm_access.roles"
	keycloak := verifier(t, cfg)
	want(roles(keycloak, it.Claim("realm_access", map[string]any{"roles": []string{"uma_authorization", "customer"}})), identity.Customer)
	want(roles(keycloak, it.Claim("realm_access", "customer")))
	want(roles(keycloak, it.Roles("customer")))

	cfg.RolesClaim = "https://uberservice.example/roles"
	auth0 := verifier(t, cfg)
	want(roles(auth0, it.Claim("https://uberservice.example/roles", []string{"staff"})), identity.Staff)
}

func TestDiscovery(t *testing.T) {
	ctx := context.Background()
	impostor := it.New(t, it.Advertising("https://elsewhere.example"))
	if _, err := identity.NewVerifier(ctx, impostor.Config()); err == nil || !strings.Contains(err.Error(), `of issuer "https://elsewhere.example"`) {
		t.Errorf("a discovery document of another issuer: %v", err)
	}
	// Given where the keys are, a verifier reads no discovery document.
	cfg := impostor.Config()
	cfg.JWKSURL = impostor.URL() + it.JWKSPath
	accepted(t, verifier(t, cfg), impostor.Mint(t, "ann"))

	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cfg.JWKSURL = impostor.URL() + "/nowhere"
	if _, err := identity.NewVerifier(ctx, cfg); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("keys that are not there: %v", err)
	}
	for _, bad := range []string{"", "issuer.example", "ftp://issuer.example", "https://issuer.example/?realm=x", "https://user:pw@issuer.example"} {
		if err := (identity.Config{Issuer: bad}).Check(); err == nil {
			t.Errorf("issuer %q: Check found nothing wrong", bad)
		}
		if _, err := identity.NewVerifier(ctx, identity.Config{Issuer: bad}); err == nil {
			t.Errorf("issuer %q: no error", bad)
		}
	}
	if err := (identity.Config{Issuer: "https://issuer.example", Skew: -time.Second}).Check(); err == nil {
		t.Error("a negative skew: Check found nothing wrong")
	}
	if err := impostor.Config().Check(); err != nil {
		t.Errorf("a good configuration: %v", err)
	}
	if ctx.Err() != nil {
		t.Error("NewVerifier waited for its context to end")
	}
}

// What verifying a person's token costs a request: the same token again
// (Cached, every request after a person's first within the token's life)
// and a token seen for the first time (Uncached: the ES256 signature).
func BenchmarkVerifyCached(b *testing.B) {
	benchVerify(b, func(v *identity.Verifier, tok string) (identity.Person, error) {
		return v.Verify(context.Background(), tok)
	})
}

func BenchmarkVerifyUncached(b *testing.B) { benchVerify(b, identity.VerifyUncached) }

func benchVerify(b *testing.B, verify func(*identity.Verifier, string) (identity.Person, error)) {
	iss := it.New(b, it.SigningWith(it.ES256))
	v := verifier(b, iss.Config())
	tok := iss.Mint(b, "ann", it.Roles("customer"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := verify(v, tok); err != nil {
			b.Fatal(err)
		}
	}
}
