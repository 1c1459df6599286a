package peerauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// A clock of a test: it stands still until told, and may be read from any
// goroutine.
type clock struct{ ns atomic.Int64 }

func newClock(at time.Time) *clock {
	c := &clock{}
	c.set(at)
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) set(at time.Time)        { c.ns.Store(at.UnixNano()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// start is when the tests' tokens are signed: a whole second, as a token's
// times are.
var start = time.Now().Truncate(time.Second)

// keySet generates a key set of names in a folder of the test's and loads
// it, its clock at start.
func keySet(t *testing.T, names ...string) (string, *KeySet) {
	t.Helper()
	dir := t.TempDir()
	if err := Generate(dir, names...); err != nil {
		t.Fatal(err)
	}
	return dir, load(t, dir, start)
}

// load loads the key set in dir, its clock at at.
func load(t *testing.T, dir string, at time.Time) *KeySet {
	t.Helper()
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.SetClock(newClock(at).now)
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

func token(t *testing.T, s *KeySet, name, audience string) string {
	t.Helper()
	tok, err := signer(t, s, name).Token(audience)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// privateKey is name's private key in dir.
func privateKey(t *testing.T, dir, name string) ed25519.PrivateKey {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name+privateExt))
	if err != nil {
		t.Fatal(err)
	}
	key, err := decodePrivate(data)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func kidOf(key ed25519.PrivateKey) string { return keyID(key.Public().(ed25519.PublicKey)) }

// claims are a token's claims as this package signs them: name's, for
// audience, living TTL from start.
func claims(name, audience string) map[string]any {
	return map[string]any{
		"iss": Issuer, "sub": name, "aud": []string{audience}, "jti": "test",
		"iat": start.Unix(), "nbf": start.Unix(), "exp": start.Add(TTL).Unix(),
	}
}

func b64(v any) string {
	data, ok := v.([]byte)
	if !ok {
		var err error
		if data, err = json.Marshal(v); err != nil {
			panic(err)
		}
	}
	return base64.RawURLEncoding.EncodeToString(data)
}

// compact is a compact JWS of header and claims, its signature what sign
// makes of the signing input: the tokens an attacker writes by hand.
func compact(header, claims map[string]any, sign func(input []byte) []byte) string {
	input := b64(header) + "." + b64(claims)
	return input + "." + b64(sign([]byte(input)))
}

func ed25519Signer(key ed25519.PrivateKey) func([]byte) []byte {
	return func(input []byte) []byte { return ed25519.Sign(key, input) }
}

func verified(t *testing.T, s *KeySet, token, audience string) Claims {
	t.Helper()
	c, err := s.Verify(token, audience)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return c
}

func refused(t *testing.T, s *KeySet, token, audience, why string) {
	t.Helper()
	c, err := s.Verify(token, audience)
	if !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("%s: verified as %+v (%v), want ErrUnauthenticated", why, c, err)
		return
	}
	if token != "" && strings.Contains(err.Error(), token) {
		t.Errorf("%s: the error quotes the token: %v", why, err)
	}
}

// A module's token, verified by the gateway it is for, says which module
// calls; it says nothing to another gateway.
func TestRoundTrip(t *testing.T) {
	_, s := keySet(t, "orders", "accounts")
	tok := token(t, s, "orders", "accounts")
	c := verified(t, s, tok, "accounts")
	if c.Subject != "orders" || len(c.Roles) != 0 || !c.Expiry.Equal(start.Add(TTL)) {
		t.Errorf("Verify = %+v; want orders, no roles, expiring at %v", c, start.Add(TTL))
	}
	header, err := jws.Parse([]byte(tok))
	if err != nil {
		t.Fatal(err)
	}
	h := header.Signatures()[0].ProtectedHeaders()
	if kid, _ := h.KeyID(); kid != signer(t, s, "orders").key.kid || len(kid) != 16 {
		t.Errorf("kid = %q, want orders' key's fingerprint", kid)
	}
	if a, _ := h.Algorithm(); a.String() != "EdDSA" {
		t.Errorf("alg = %v, want EdDSA", a)
	}
}

func TestWrongAudience(t *testing.T) {
	_, s := keySet(t, "orders", "accounts")
	tok := token(t, s, "orders", "accounts")
	refused(t, s, tok, "warehouse", "a token for accounts shown to warehouse")
	refused(t, s, tok, OpsAudience, "a token for accounts shown to the ops routes")
	refused(t, s, tok, "", "no audience to verify for")
}

// Whatever is wrong with a token, Verify refuses it with ErrUnauthenticated.
func TestBadTokensAreRefused(t *testing.T) {
	dir, s := keySet(t, "orders", "im", "accounts")
	orders := privateKey(t, dir, "orders")
	good := token(t, s, "orders", "accounts")
	parts := strings.Split(good, ".")
	header := map[string]any{"alg": "EdDSA", "kid": kidOf(orders), "typ": "JWT"}
	without := func(claim string) map[string]any {
		c := claims("orders", "accounts")
		delete(c, claim)
		return c
	}
	with := func(claim string, v any) map[string]any {
		c := claims("orders", "accounts")
		c[claim] = v
		return c
	}
	signed := func(c map[string]any) string { return compact(header, c, ed25519Signer(orders)) }

	for _, c := range []struct{ why, token string }{
		{"no token", ""},
		{"garbage", "not a token"},
		{"three dots of nothing", ".."},
		{"too long", strings.Repeat("a", maxTokenSize+1)},
		{"the payload tampered with", parts[0] + "." + b64(with("sub", "im")) + "." + parts[2]},
		{"the signature tampered with", parts[0] + "." + parts[1] + "." + b64([]byte(strings.Repeat("x", 64)))},
		{"no signature", parts[0] + "." + parts[1] + "."},
		{"another issuer", signed(with("iss", "https://idp.example"))},
		{"no expiry", signed(without("exp"))},
		{"no issue time", signed(without("iat"))},
		{"no not-before", signed(without("nbf"))},
		{"a subject that is not a string", signed(with("sub", 7))},
		{"roles that are not strings", signed(with("roles", []any{1}))},
	} {
		refused(t, s, c.token, "accounts", c.why)
	}
	if _, err := s.Verify(signed(claims("orders", "accounts")), "accounts"); err != nil {
		t.Errorf("the well-made hand-written token, as the tests above write them: %v", err)
	}
}

// A module's key signs for that module alone: a token whose subject is
// another module, or whose kid names another module's key, is refused.
func TestAKeySignsOnlyForItsOwnName(t *testing.T) {
	dir, s := keySet(t, "orders", "im", "accounts")
	orders, im := privateKey(t, dir, "orders"), privateKey(t, dir, "im")
	for _, c := range []struct {
		why    string
		kid    string
		claims map[string]any
	}{
		{"orders' key, its kid, claiming to be im", kidOf(orders), claims("im", "accounts")},
		{"orders' key, im's kid, claiming to be im", kidOf(im), claims("im", "accounts")},
		{"orders' key, im's kid, claiming to be orders", kidOf(im), claims("orders", "accounts")},
		{"orders' key claiming to be the operator", kidOf(orders), claims(Operator, OpsAudience)},
	} {
		tok := compact(map[string]any{"alg": "EdDSA", "kid": c.kid}, c.claims, ed25519Signer(orders))
		refused(t, s, tok, c.claims["aud"].([]string)[0], c.why)
	}
}

// A kid no key of the deployment has, or none, is refused.
func TestUnknownKid(t *testing.T) {
	_, s := keySet(t, "orders", "accounts")
	_, other := keySet(t, "orders")
	refused(t, s, token(t, other, "orders", "accounts"), "accounts", "a key of another deployment")

	_, stranger, _ := ed25519.GenerateKey(rand.Reader)
	c := claims("orders", "accounts")
	refused(t, s, compact(map[string]any{"alg": "EdDSA"}, c, ed25519Signer(stranger)), "accounts", "no kid")
	refused(t, s, compact(map[string]any{"alg": "EdDSA", "kid": "nobody"}, c, ed25519Signer(stranger)), "accounts", "a kid of nobody's")
	refused(t, s, compact(map[string]any{"alg": "EdDSA", "kid": strings.Repeat("k", 1000)}, c, ed25519Signer(stranger)), "accounts", "a kid a kilobyte long")
}

// Only EdDSA verifies: alg none, an HMAC keyed with a public key (the
// classic confusion), another asymmetric algorithm, even a signature of the
// right key under another name of its algorithm, are refused.
func TestOnlyEdDSAVerifies(t *testing.T) {
	dir, s := keySet(t, "orders", "accounts")
	orders := privateKey(t, dir, "orders")
	kid := kidOf(orders)
	pemPub, err := os.ReadFile(filepath.Join(dir, "orders.pub"))
	if err != nil {
		t.Fatal(err)
	}
	hs256 := func(secret []byte) func([]byte) []byte {
		return func(input []byte) []byte {
			mac := hmac.New(sha256.New, secret)
			mac.Write(input)
			return mac.Sum(nil)
		}
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	es256 := func(input []byte) []byte {
		sum := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, ecKey, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		return append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	}
	c := claims("orders", "accounts")
	for _, tc := range []struct {
		why  string
		alg  any
		sign func([]byte) []byte
	}{
		{"alg none", "none", func([]byte) []byte { return nil }},
		{"alg None", "None", func([]byte) []byte { return nil }},
		{"no alg", nil, ed25519Signer(orders)},
		{"HS256 keyed with the PEM public key", "HS256", hs256(pemPub)},
		{"HS256 keyed with the raw public key", "HS256", hs256(orders.Public().(ed25519.PublicKey))},
		{"ES256 with a key of the attacker's", "ES256", es256},
		{"the right key's signature, as Ed25519", "Ed25519", ed25519Signer(orders)},
		{"the right key's signature, as eddsa", "eddsa", ed25519Signer(orders)},
	} {
		header := map[string]any{"kid": kid}
		if tc.alg != nil {
			header["alg"] = tc.alg
		}
		refused(t, s, compact(header, c, tc.sign), "accounts", tc.why)
	}

	// The same, signed by the library rather than by hand.
	tok, err := jwt.NewBuilder().Issuer(Issuer).Subject("orders").Audience([]string{"accounts"}).
		IssuedAt(start).NotBefore(start).Expiration(start.Add(TTL)).Build()
	if err != nil {
		t.Fatal(err)
	}
	hmacKey, err := jwk.Import(pemPub)
	if err != nil {
		t.Fatal(err)
	}
	if err := hmacKey.Set(jwk.KeyIDKey, kid); err != nil {
		t.Fatal(err)
	}
	hmacSigned, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), hmacKey))
	if err != nil {
		t.Fatal(err)
	}
	refused(t, s, string(hmacSigned), "accounts", "HS256 keyed with the public key, by jwx")
	none, err := jwt.Sign(tok, jwt.WithInsecureNoSignature())
	if err != nil {
		t.Fatal(err)
	}
	refused(t, s, string(none), "accounts", "alg none, by jwx")
}

// A bearer token is a compact JWS: the JSON serialization, even signed by
// the right key, is refused.
func TestOnlyCompactTokens(t *testing.T) {
	_, s := keySet(t, "orders", "accounts")
	payload, _ := json.Marshal(claims("orders", "accounts"))
	js, err := jws.Sign(payload, jws.WithJSON(), jws.WithKey(alg, signer(t, s, "orders").key.key))
	if err != nil {
		t.Fatal(err)
	}
	refused(t, s, string(js), "accounts", "the JSON serialization")
}

// A token lives TTL. A verifier whose clock is off from the signer's by less
// than Skew accepts it all its life, one off by more refuses it where the
// difference matters: before it was issued, or after it expired.
func TestExpiryAndClockSkew(t *testing.T) {
	dir, s := keySet(t, "orders", "accounts")
	tok := token(t, s, "orders", "accounts") // issued at start, by the signer's clock
	exp := start.Add(TTL)
	for _, c := range []struct {
		name     string
		verifier time.Time // the verifier's clock when it verifies
		ok       bool
	}{
		{"the same clock, at issue", start, true},
		{"the same clock, a second before expiry", exp.Add(-time.Second), true},
		{"at issue, a verifier 20s behind", start.Add(-20 * time.Second), true},
		{"at issue, a verifier 29s behind", start.Add(-29 * time.Second), true},
		{"at issue, a verifier 2 minutes behind", start.Add(-2 * time.Minute), false},
		{"at expiry, a verifier 20s ahead", exp.Add(20 * time.Second), true},
		{"a minute before expiry, a verifier 2 minutes ahead", exp.Add(time.Minute), false},
		{"expired, beyond the skew", exp.Add(Skew + time.Second), false},
		{"expired long ago", exp.Add(24 * time.Hour), false},
	} {
		_, err := load(t, dir, c.verifier).Verify(tok, "accounts")
		if (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("%s: %v does not wrap ErrUnauthenticated", c.name, err)
		}
	}
}

// A verified token is remembered until it expires, and not a moment
// longer: the same key set refuses it afterwards, and a token for one
// audience is never remembered for another.
func TestVerifiedTokensAreCachedUntilExpiry(t *testing.T) {
	dir, _ := keySet(t, "orders", "accounts")
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := newClock(start)
	s.SetClock(c.now)
	tok := token(t, s, "orders", "accounts")
	verified(t, s, tok, "accounts")
	if n := s.verified.Len(); n != 1 {
		t.Fatalf("%d tokens cached after one verified, want 1", n)
	}
	verified(t, s, tok, "accounts")
	refused(t, s, tok, "warehouse", "a cached token shown to another audience")
	c.advance(TTL + Skew + time.Second)
	refused(t, s, tok, "accounts", "a cached token after its expiry")
}

// A token signed to live longer than MaxLifetime is refused, however far
// its expiry: stolen, it would be good for too long.
func TestOverLongLifetimeRefused(t *testing.T) {
	dir, s := keySet(t, "orders", "accounts")
	orders := privateKey(t, dir, "orders")
	header := map[string]any{"alg": "EdDSA", "kid": kidOf(orders)}
	for _, c := range []struct {
		lifetime time.Duration
		ok       bool
	}{
		{TTL, true},
		{MaxLifetime, true},
		{MaxLifetime + time.Minute, false},
		{30 * 24 * time.Hour, false},
	} {
		cl := claims("orders", "accounts")
		cl["exp"] = start.Add(c.lifetime).Unix()
		_, err := s.Verify(compact(header, cl, ed25519Signer(orders)), "accounts")
		if (err == nil) != c.ok {
			t.Errorf("a lifetime of %s: %v, want ok=%v", c.lifetime, err, c.ok)
		}
	}
	if _, err := signer(t, s, "orders").Mint("accounts", MaxLifetime+time.Minute); err == nil {
		t.Error("Mint signed a token that no verifier takes")
	}
}

// An operator's token carries the operator role; a module cannot sign one.
func TestOperatorTokens(t *testing.T) {
	_, s := keySet(t, Operator, "orders")
	tok, err := signer(t, s, Operator).OperatorToken(time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := verified(t, s, tok, OpsAudience)
	if c.Subject != Operator || !c.HasRole(Operator) || c.HasRole("admin") {
		t.Fatalf("Verify = %+v, want the operator with the operator role", c)
	}
	refused(t, s, tok, "orders", "an operator's token shown to a gateway")
	if _, err := signer(t, s, "orders").OperatorToken(time.Hour); err == nil {
		t.Error("orders signed an operator's token")
	}
	if _, err := signer(t, s, "orders").Mint(OpsAudience, time.Hour, Operator); err == nil {
		t.Error("orders signed a token with the operator role")
	}
	mod, err := signer(t, s, "orders").Mint(OpsAudience, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if c := verified(t, s, mod, OpsAudience); c.Subject != "orders" || c.HasRole(Operator) {
		t.Errorf("a module's token for the ops routes verified as %+v: the caller must find no operator in it", c)
	}
}

// What verifying a module's service token costs a gateway call: the same
// token again (Cached: every call within two thirds of its life) and a
// token seen for the first time (Uncached: the Ed25519 signature).
func BenchmarkVerifyCached(b *testing.B) {
	s, tok := benchToken(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(tok, "accounts"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyUncached(b *testing.B) {
	s, tok := benchToken(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.verify(tok, "accounts"); err != nil {
			b.Fatal(err)
		}
	}
}

// benchToken is a key set of orders and accounts, on the real clock, and
// orders' token for accounts.
func benchToken(b *testing.B) (*KeySet, string) {
	dir := b.TempDir()
	if err := Generate(dir, "orders", "accounts"); err != nil {
		b.Fatal(err)
	}
	s, err := Load(dir)
	if err != nil {
		b.Fatal(err)
	}
	g, err := s.Signer("orders")
	if err != nil {
		b.Fatal(err)
	}
	tok, err := g.Token("accounts")
	if err != nil {
		b.Fatal(err)
	}
	return s, tok
}
