package peerauth

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// keySet generates a key set of names in a folder of the test's and loads it.
func keySet(t *testing.T, names ...string) (string, *KeySet) {
	t.Helper()
	dir := t.TempDir()
	if err := Generate(dir, names...); err != nil {
		t.Fatal(err)
	}
	return dir, load(t, dir, time.Now())
}

func load(t *testing.T, dir string, at time.Time) *KeySet {
	t.Helper()
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	now := at
	s.SetClock(func() time.Time { return now })
	return s
}

func signer(t *testing.T, s *KeySet, name string) *Signer {
	t.Helper()
	g, err := s.Signer(name)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func refused(t *testing.T, s *KeySet, token, audience, why string) {
	t.Helper()
	if c, err := s.Verify(token, audience); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("%s: verified as %+v (%v), want ErrUnauthenticated", why, c, err)
	}
}

func TestATokenSaysWhoCalls(t *testing.T) {
	_, s := keySet(t, "orders", "accounts")
	token, err := signer(t, s, "orders").Token("accounts")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Verify(token, "accounts")
	if err != nil || c.Subject != "orders" || len(c.Roles) != 0 {
		t.Fatalf("Verify = %+v, %v; want orders with no roles", c, err)
	}
	refused(t, s, token, "warehouse", "a token for accounts shown to warehouse")
	refused(t, s, "", "accounts", "no token")
	refused(t, s, "not.a.token", "accounts", "garbage")
	parts := strings.Split(token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := strings.Replace(string(payload), `"orders"`, `"im"`, 1)
	refused(t, s, parts[0]+"."+base64.RawURLEncoding.EncodeToString([]byte(forged))+"."+parts[2], "accounts", "a tampered payload")
}

// A module's key cannot sign for another module: the kid names whose key it
// is, and a token whose subject is someone else's is refused.
func TestAKeySignsOnlyForItsOwnName(t *testing.T) {
	_, s := keySet(t, "orders", "im", "accounts")
	orders := signer(t, s, "orders")
	tok, err := jwt.NewBuilder().Issuer(Issuer).Subject("im").Audience([]string{"accounts"}).
		IssuedAt(time.Now()).Expiration(time.Now().Add(time.Minute)).Build()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, orders.key.key))
	if err != nil {
		t.Fatal(err)
	}
	refused(t, s, string(signed), "accounts", "orders' key signing as im")

	_, other := keySet(t, "orders")
	stranger, _ := signer(t, other, "orders").Token("accounts")
	refused(t, s, stranger, "accounts", "a key of another deployment")
}

// Only EdDSA verifies: a token that says alg none, or that is an HMAC keyed
// with a public key (the classic confusion), is refused.
func TestOnlyEdDSAVerifies(t *testing.T) {
	dir, s := keySet(t, "orders", "accounts")
	tok, _ := jwt.NewBuilder().Issuer(Issuer).Subject("orders").Audience([]string{"accounts"}).
		IssuedAt(time.Now()).Expiration(time.Now().Add(time.Minute)).Build()
	kid := signer(t, s, "orders").key.kid
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"` + kid + `"}`))
	claims, _ := base64.RawURLEncoding.DecodeString(strings.Split(mustSign(t, s), ".")[1])
	refused(t, s, header+"."+base64.RawURLEncoding.EncodeToString(claims)+".", "accounts", "alg none")

	pub, err := os.ReadFile(filepath.Join(dir, "orders.pub"))
	if err != nil {
		t.Fatal(err)
	}
	hmac, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), pub))
	if err != nil {
		t.Fatal(err)
	}
	refused(t, s, string(hmac), "accounts", "HS256 keyed with the public key")
}

func mustSign(t *testing.T, s *KeySet) string {
	t.Helper()
	token, err := signer(t, s, "orders").Mint("accounts", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// A token lives TTL; a verifier whose clock is off by less than Skew accepts
// it, one off by more refuses it, and one signed to live too long is refused
// whatever the clocks say.
func TestExpiryAndClockSkew(t *testing.T) {
	dir, _ := keySet(t, "orders", "accounts")
	now := time.Now()
	token, err := signer(t, load(t, dir, now), "orders").Token("accounts")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		offset time.Duration
		ok     bool
	}{
		{"the same clock", 0, true},
		{"a verifier 20s behind", -20 * time.Second, true},
		{"a verifier 20s ahead, near the end of the token's life", TTL + 20*time.Second, true},
		{"a verifier 2 minutes behind", -2 * time.Minute, false},
		{"after the token's life and the skew", TTL + Skew + time.Second, false},
	} {
		_, err := load(t, dir, now.Add(c.offset)).Verify(token, "accounts")
		if (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok=%v", c.name, err, c.ok)
		}
	}
	long, err := signer(t, load(t, dir, now), "orders").Mint("accounts", MaxLifetime+time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	refused(t, load(t, dir, now), long, "accounts", "a token signed to live longer than MaxLifetime")
}

// A rotation: the old key's tokens verify while its public key is listed,
// the new key's do too, and once the old public key is dropped its tokens
// are refused.
func TestRotation(t *testing.T) {
	dir, before := keySet(t, "orders", "accounts")
	old, _ := signer(t, before, "orders").Token("accounts")
	if err := Rotate(dir, "orders"); err != nil {
		t.Fatal(err)
	}
	during := load(t, dir, time.Now())
	fresh, _ := signer(t, during, "orders").Token("accounts")
	if fresh == old {
		t.Fatal("the rotated key signed the old token")
	}
	for name, token := range map[string]string{"old": old, "new": fresh} {
		if _, err := during.Verify(token, "accounts"); err != nil {
			t.Errorf("during the rotation, the %s key's token: %v", name, err)
		}
	}
	// The rotation ends: the old public key leaves orders.pub.
	pubs, err := os.ReadFile(filepath.Join(dir, "orders.pub"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.SplitAfter(string(pubs), "-----END PUBLIC KEY-----\n")
	if err := os.WriteFile(filepath.Join(dir, "orders.pub"), []byte(blocks[1]), 0o644); err != nil {
		t.Fatal(err)
	}
	after := load(t, dir, time.Now())
	refused(t, after, old, "accounts", "the old key's token after the rotation")
	if _, err := after.Verify(fresh, "accounts"); err != nil {
		t.Errorf("the new key's token after the rotation: %v", err)
	}
}

// Generate writes the private keys for their owner's eyes only and refuses
// to replace a key; Load refuses a private key whose public key is missing.
func TestKeyFiles(t *testing.T) {
	dir, s := keySet(t, "orders", Operator)
	info, err := os.Stat(filepath.Join(dir, "orders.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("orders.key: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
	if got := s.Names(); strings.Join(got, ",") != "operator,orders" {
		t.Errorf("Names = %v", got)
	}
	if err := Generate(dir, "orders"); err == nil {
		t.Error("Generate replaced an existing key")
	}
	if err := os.Remove(filepath.Join(dir, "orders.pub")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil {
		t.Error("Load took a private key with no public key")
	}
	if _, err := s.Signer("im"); err == nil {
		t.Error("a signer for a name with no private key here")
	}
}

// Processes starting together on one machine each ensure the development
// key set: they all end up with the same keys.
func TestEnsureDevelopmentIsSharedByProcessesStartingTogether(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = EnsureDevelopment(dir, "accounts", "orders", Operator) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s := load(t, dir, time.Now())
	token, _ := signer(t, s, "orders").Token("accounts")
	if _, err := load(t, dir, time.Now()).Verify(token, "accounts"); err != nil {
		t.Fatalf("the development key set does not verify its own tokens: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 6 {
		t.Errorf("%d files in the key folder, want 6 (no leftovers)", len(entries))
	}
	if err := EnsureDevelopment(dir, "accounts", "orders", Operator); err != nil {
		t.Fatal(err)
	}
	if _, err := load(t, dir, time.Now()).Verify(token, "accounts"); err != nil {
		t.Fatalf("a second EnsureDevelopment changed the keys: %v", err)
	}
}

// A token is reused until two thirds of its life are spent, by every
// goroutine alike, then renewed.
func TestTokensAreReused(t *testing.T) {
	dir, _ := keySet(t, "orders", "accounts")
	now := time.Now()
	s, _ := Load(dir)
	s.SetClock(func() time.Time { return now })
	g := signer(t, s, "orders")
	tokens := make([]string, 16)
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Go(func() { tokens[i], _ = g.Token("accounts") })
	}
	wg.Wait()
	for _, tok := range tokens {
		if tok != tokens[0] || tok == "" {
			t.Fatal("concurrent calls got different tokens")
		}
	}
	now = now.Add(TTL / 2)
	if again, _ := g.Token("accounts"); again != tokens[0] {
		t.Error("renewed before two thirds of its life")
	}
	now = now.Add(TTL / 4)
	if renewed, _ := g.Token("accounts"); renewed == tokens[0] {
		t.Error("not renewed after three quarters of its life")
	}
}

// An operator's token carries the operator role.
func TestOperatorTokens(t *testing.T) {
	_, s := keySet(t, Operator)
	token, err := signer(t, s, Operator).Mint(OpsAudience, time.Hour, Operator)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Verify(token, OpsAudience)
	if err != nil || c.Subject != Operator || !c.HasRole(Operator) {
		t.Fatalf("Verify = %+v, %v", c, err)
	}
}
