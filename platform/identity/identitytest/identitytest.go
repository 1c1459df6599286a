// Package identitytest is an OpenID Connect issuer for tests: a real one,
// on an httptest.Server, that serves its discovery document and its JWKS
// and signs people's tokens (RS256 or ES256), good ones and, told so, bad
// ones, so that tests run a Verifier exactly as it runs against an identity
// provider: discovery, keys, rotation, verification.
package identitytest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/uberservice/uberservice/platform/identity"
)

// The algorithms an Issuer signs with, as a token's alg says them.
const (
	RS256 = "RS256"
	ES256 = "ES256"
)

// Paths of the issuer's documents.
const (
	DiscoveryPath = "/.well-known/openid-configuration"
	JWKSPath      = "/jwks"
)

// An Issuer is an OpenID Connect issuer serving on a local port. It holds
// a key of each of RS256 and ES256, and its JWKS publishes them and every
// key they replaced (Rotate). It is safe for concurrent use.
type Issuer struct {
	server *httptest.Server
	alg    string // what Mint signs with unless told
	// advertised is the issuer its discovery document names: its URL
	// unless an Option says otherwise.
	advertised string

	mu        sync.Mutex
	signing   map[string]jwk.Key // alg -> the private key that signs now
	published []jwk.Key          // the public keys of the JWKS

	fetches atomic.Int64 // of the JWKS
}

// An Option configures an Issuer.
type Option func(*Issuer)

// SigningWith makes the issuer sign with alg (RS256 or ES256) unless a
// token says otherwise; RS256 by default.
func SigningWith(alg string) Option { return func(i *Issuer) { i.alg = alg } }

// Advertising makes the issuer's discovery document name issuer as the
// issuer, for tests of a document that is another issuer's.
func Advertising(issuer string) Option { return func(i *Issuer) { i.advertised = issuer } }

// New starts an issuer, which stops when the test ends.
func New(t testing.TB, opts ...Option) *Issuer {
	t.Helper()
	i := &Issuer{alg: RS256, signing: map[string]jwk.Key{}}
	for _, o := range opts {
		o(i)
	}
	if i.alg != RS256 && i.alg != ES256 {
		t.Fatalf("identitytest: sign with %s? RS256 or ES256", i.alg)
	}
	for _, alg := range []string{RS256, ES256} {
		key, err := newKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		if err := i.adopt(alg, key); err != nil {
			t.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+DiscoveryPath, i.discovery)
	mux.HandleFunc("GET "+JWKSPath, i.jwks)
	i.server = httptest.NewServer(mux)
	if i.advertised == "" {
		i.advertised = i.server.URL
	}
	t.Cleanup(i.server.Close)
	return i
}

// URL is the issuer's identifier, what its tokens' iss says: the base URL
// of its server.
func (i *Issuer) URL() string { return i.server.URL }

// Config is the configuration of a Verifier of the issuer's tokens.
func (i *Issuer) Config() identity.Config {
	return identity.Config{Issuer: i.URL(), Audience: identity.DefaultAudience, HTTPClient: i.server.Client()}
}

// Rotate gives the issuer a new key of its algorithm, which signs its
// tokens from then on; the JWKS publishes the new key beside the old ones,
// so that the tokens the old one signed still verify.
func (i *Issuer) Rotate(t testing.TB) {
	t.Helper()
	key, err := newKey(i.alg)
	if err != nil {
		t.Fatal(err)
	}
	if err := i.adopt(i.alg, key); err != nil {
		t.Fatal(err)
	}
}

// Retire makes the JWKS publish only the keys that sign now: the tokens
// every earlier key signed stop verifying once a verifier fetches it again.
func (i *Issuer) Retire(t testing.TB) {
	t.Helper()
	i.mu.Lock()
	defer i.mu.Unlock()
	var kept []jwk.Key
	for _, pub := range i.published {
		pkid, _ := pub.KeyID()
		for _, priv := range i.signing {
			if kid, _ := priv.KeyID(); kid == pkid {
				kept = append(kept, pub)
			}
		}
	}
	i.published = kept
}

// JWKSFetches is how many times the JWKS was fetched.
func (i *Issuer) JWKSFetches() int { return int(i.fetches.Load()) }

// adopt makes key the one that signs alg's tokens, and publishes it.
func (i *Issuer) adopt(alg string, key jwk.Key) error {
	public, err := key.PublicKey()
	if err != nil {
		return fmt.Errorf("identitytest: %w", err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	i.signing[alg] = key
	i.published = append(i.published, public)
	return nil
}

// key is the private key that signs alg's tokens now.
func (i *Issuer) key(alg string) jwk.Key {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.signing[alg]
}

func (i *Issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{
		"issuer":                                i.advertised,
		"jwks_uri":                              i.server.URL + JWKSPath,
		"id_token_signing_alg_values_supported": []string{RS256, ES256},
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
	})
}

func (i *Issuer) jwks(w http.ResponseWriter, _ *http.Request) {
	i.fetches.Add(1)
	set := jwk.NewSet()
	i.mu.Lock()
	for _, k := range i.published {
		_ = set.AddKey(k) // each key once: adopt adds each once
	}
	i.mu.Unlock()
	writeJSON(w, set)
}

func writeJSON(w http.ResponseWriter, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// newKey generates a private key for alg, with its kid (its thumbprint),
// alg and use set.
func newKey(alg string) (jwk.Key, error) {
	var raw any
	var err error
	var sig jwa.SignatureAlgorithm
	switch alg {
	case RS256:
		raw, err = rsa.GenerateKey(rand.Reader, 2048)
		sig = jwa.RS256()
	case ES256:
		raw, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		sig = jwa.ES256()
	default:
		return nil, fmt.Errorf("identitytest: no key for %s: RS256 or ES256", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("identitytest: generate a %s key: %w", alg, err)
	}
	key, err := jwk.Import(raw)
	if err != nil {
		return nil, fmt.Errorf("identitytest: %w", err)
	}
	thumb, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("identitytest: %w", err)
	}
	for name, value := range map[string]any{
		jwk.KeyIDKey: base64.RawURLEncoding.EncodeToString(thumb), jwk.AlgorithmKey: sig, jwk.KeyUsageKey: jwk.ForSignature,
	} {
		if err := key.Set(name, value); err != nil {
			return nil, fmt.Errorf("identitytest: %w", err)
		}
	}
	return key, nil
}
