package identitytest

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/uberservice/uberservice/platform/identity"
)

// A MintOption changes a token from the good one Mint makes by default.
type MintOption func(*minting)

type minting struct {
	claims      map[string]any
	alg         string // RS256, ES256, or "none" or HS256 to forge one
	kid         string // "" for the signing key's
	unpublished bool   // signed by a key the JWKS does not publish
}

// Mint returns a token of the issuer for subject: for
// identity.DefaultAudience, issued and valid from now, living five
// minutes, with no roles, signed with the issuer's current key of its
// algorithm. Options change it.
func (i *Issuer) Mint(t testing.TB, subject string, opts ...MintOption) string {
	t.Helper()
	now := time.Now()
	m := &minting{alg: i.alg, claims: map[string]any{
		jwt.IssuerKey: i.URL(), jwt.SubjectKey: subject, jwt.AudienceKey: []string{identity.DefaultAudience},
		jwt.IssuedAtKey: now, jwt.NotBeforeKey: now, jwt.ExpirationKey: now.Add(5 * time.Minute),
	}}
	for _, o := range opts {
		o(m)
	}
	b := jwt.NewBuilder()
	for name, value := range m.claims {
		b = b.Claim(name, value)
	}
	tok, err := b.Build()
	if err != nil {
		t.Fatalf("identitytest: build a token: %v", err)
	}
	var signed []byte
	switch m.alg {
	case "none":
		signed, err = jwt.Sign(tok, jwt.WithInsecureNoSignature())
	case "HS256":
		signed, err = i.forgeHMAC(tok)
	default:
		key := i.key(m.alg)
		if key == nil {
			t.Fatalf("identitytest: no %s key: RS256, ES256, none or HS256", m.alg)
		}
		if m.unpublished {
			if key, err = newKey(m.alg); err != nil {
				t.Fatal(err)
			}
		}
		if m.kid != "" {
			if key, err = key.Clone(); err == nil {
				err = key.Set(jwk.KeyIDKey, m.kid)
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		alg, _ := key.Algorithm()
		signed, err = jwt.Sign(tok, jwt.WithKey(alg, key))
	}
	if err != nil {
		t.Fatalf("identitytest: sign a token: %v", err)
	}
	return string(signed)
}

// forgeHMAC signs tok with HS256 keyed with the PEM of the issuer's RS256
// public key, naming that key: the forgery that a verifier which lets a
// token choose its algorithm would accept.
func (i *Issuer) forgeHMAC(tok jwt.Token) ([]byte, error) {
	key := i.key(RS256)
	var raw any
	if err := jwk.Export(key, &raw); err != nil {
		return nil, err
	}
	public, _ := jwk.PublicRawKeyOf(raw)
	der, err := x509.MarshalPKIXPublicKey(public)
	if err != nil {
		return nil, err
	}
	secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	kid, _ := key.KeyID()
	h := jws.NewHeaders()
	if err := h.Set(jws.KeyIDKey, kid); err != nil {
		return nil, err
	}
	return jwt.Sign(tok, jwt.WithKey(jwa.HS256(), secret, jws.WithProtectedHeaders(h)))
}

// Roles sets the roles claim to names, a JSON array.
func Roles(names ...string) MintOption {
	return Claim(identity.DefaultRolesClaim, names)
}

// Claim sets the claim name to value: a roles claim of another shape, or
// in another place.
func Claim(name string, value any) MintOption {
	return func(m *minting) { m.claims[name] = value }
}

// Without leaves the claim name out.
func Without(name string) MintOption {
	return func(m *minting) { delete(m.claims, name) }
}

// ExpiresIn makes the token expire d from now: in the past for d < 0.
func ExpiresIn(d time.Duration) MintOption {
	return Claim(jwt.ExpirationKey, time.Now().Add(d))
}

// NotBefore makes the token valid from at.
func NotBefore(at time.Time) MintOption { return Claim(jwt.NotBeforeKey, at) }

// IssuedAt says the token was issued at at.
func IssuedAt(at time.Time) MintOption { return Claim(jwt.IssuedAtKey, at) }

// Audience makes the token for audiences.
func Audience(audiences ...string) MintOption { return Claim(jwt.AudienceKey, audiences) }

// IssuedBy makes the token say another issuer issued it.
func IssuedBy(issuer string) MintOption { return Claim(jwt.IssuerKey, issuer) }

// SignedWith signs the token with alg: RS256 or ES256 with the issuer's
// current key of that algorithm; "none" leaves it unsigned, and HS256
// forges it (an HMAC keyed with the issuer's RS256 public key).
func SignedWith(alg string) MintOption { return func(m *minting) { m.alg = alg } }

// Unpublished signs the token with a new key that the issuer never
// publishes: a forgery, as far as a verifier can tell.
func Unpublished() MintOption { return func(m *minting) { m.unpublished = true } }

// KeyID makes the token name kid as its key, whatever key signed it.
func KeyID(kid string) MintOption { return func(m *minting) { m.kid = kid } }
