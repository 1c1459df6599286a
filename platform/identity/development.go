package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// DevelopmentIssuer is the issuer of the development issuer's tokens: a name
// under .invalid, which never resolves (RFC 6761), so that only a Verifier
// given the development issuer's own client (Issuer.Client) can fetch its
// keys, and no other issuer's tokens can pass for its own.
const DevelopmentIssuer = "https://development.uberservice.invalid"

// DevelopmentKeyFile is the file of the development issuer's private key in
// its folder: an ECDSA P-256 key, as PKCS#8 PEM of mode 0600. It is not
// NAME.key, as the modules' keys of a peerauth key set are, so that the
// key set's folder can hold it: peerauth reads .key and .pub files alone.
const DevelopmentKeyFile = "people.pem"

// MaxDevelopmentTTL bounds the life of a development token.
const MaxDevelopmentTTL = 24 * time.Hour

// Paths of the development issuer's documents.
const (
	discoveryPath = "/.well-known/openid-configuration"
	jwksPath      = "/jwks.json"
)

// An Issuer is the development issuer: it mints people's tokens on a laptop
// that has no identity provider, and serves the keys that verify them. Its
// tokens are of DevelopmentIssuer, for DefaultAudience, signed ES256.
type Issuer struct {
	private jwk.Key // with its kid and alg
	jwks    []byte  // the public key, as a JWK set
}

// Development returns the development issuer whose key is in dir (the
// development key set's folder), making the key first if dir has none.
// Processes that start together on one machine may all call it at once:
// the first to write the key wins, and every one of them uses that key.
func Development(dir string) (*Issuer, error) {
	path := filepath.Join(dir, DevelopmentKeyFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err := createKey(dir, path); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, fmt.Errorf("identity: the development issuer's key: %w", err)
	}
	private, err := decodeKey(data)
	if err != nil {
		return nil, fmt.Errorf("identity: %s: %w", path, err)
	}
	return newIssuer(private)
}

func newIssuer(private *ecdsa.PrivateKey) (*Issuer, error) {
	key, err := jwk.Import(private)
	if err != nil {
		return nil, fmt.Errorf("identity: the development issuer's key: %w", err)
	}
	public, err := key.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("identity: the development issuer's key: %w", err)
	}
	thumb, err := public.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("identity: the development issuer's key: %w", err)
	}
	kid := base64.RawURLEncoding.EncodeToString(thumb)
	for _, k := range []jwk.Key{key, public} {
		for name, value := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: jwa.ES256(), jwk.KeyUsageKey: jwk.ForSignature} {
			if err := k.Set(name, value); err != nil {
				return nil, fmt.Errorf("identity: the development issuer's key: %w", err)
			}
		}
	}
	set := jwk.NewSet()
	if err := set.AddKey(public); err != nil {
		return nil, fmt.Errorf("identity: the development issuer's key set: %w", err)
	}
	jwks, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("identity: the development issuer's key set: %w", err)
	}
	return &Issuer{private: key, jwks: jwks}, nil
}

// Config is the configuration of a Verifier of the development issuer's
// tokens, which fetches its keys through Client.
func (iss *Issuer) Config() Config {
	return Config{Issuer: DevelopmentIssuer, Audience: DefaultAudience, HTTPClient: iss.Client()}
}

// Mint signs a token for the person subject, with roles, living ttl (more
// than nothing, at most MaxDevelopmentTTL).
func (iss *Issuer) Mint(subject string, roles []Role, ttl time.Duration) (string, error) {
	if err := CheckSubject(subject); err != nil {
		return "", fmt.Errorf("identity: mint: %w", err)
	}
	if ttl <= 0 || ttl > MaxDevelopmentTTL {
		return "", fmt.Errorf("identity: mint: a token lives more than nothing and at most %s, not %s", MaxDevelopmentTTL, ttl)
	}
	names := make([]string, 0, len(roles))
	for _, r := range roles {
		if !r.Known() {
			return "", fmt.Errorf("identity: mint: unknown role %q (want one of %v)", r, Roles())
		}
		names = append(names, string(r))
	}
	var jti [12]byte
	_, _ = rand.Read(jti[:])
	now := time.Now()
	tok, err := jwt.NewBuilder().Issuer(DevelopmentIssuer).Subject(subject).Audience([]string{DefaultAudience}).
		IssuedAt(now).NotBefore(now).Expiration(now.Add(ttl)).JwtID(base64.RawURLEncoding.EncodeToString(jti[:])).
		Claim(DefaultRolesClaim, names).Build()
	if err != nil {
		return "", fmt.Errorf("identity: mint: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256(), iss.private))
	if err != nil {
		return "", fmt.Errorf("identity: mint: %w", err)
	}
	return string(signed), nil
}

// Handler serves the development issuer's discovery document and its key
// set, the public key alone: what an identity provider serves a Verifier.
func (iss *Issuer) Handler() http.Handler {
	doc, err := json.Marshal(map[string]any{
		"issuer":                                DevelopmentIssuer,
		"jwks_uri":                              DevelopmentIssuer + jwksPath,
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
	})
	if err != nil {
		panic(err) // a map of strings always encodes
	}
	mux := http.NewServeMux()
	serve := func(body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}
	}
	mux.Handle("GET "+discoveryPath, serve(doc))
	mux.Handle("GET "+jwksPath, serve(iss.jwks))
	return mux
}

// createKey writes a new private key to path, whole, unless path exists:
// fs.ErrExist then. It writes the key to a file of its own and links it
// into place, which fails if path exists, so that no process ever reads a
// half-written key, and two that start at once end up with the same one.
func createKey(dir, path string) error {
	private, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("identity: generate the development issuer's key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(private)
	if err != nil {
		return fmt.Errorf("identity: encode the development issuer's key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("identity: the development issuer's key folder: %w", err)
	}
	var suffix [6]byte
	_, _ = rand.Read(suffix[:])
	tmp := filepath.Join(dir, "."+DevelopmentKeyFile+".tmp-"+base64.RawURLEncoding.EncodeToString(suffix[:]))
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return fmt.Errorf("identity: write %s: %w", path, err)
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fs.ErrExist
		}
		return fmt.Errorf("identity: write %s: %w", path, err)
	}
	return nil
}

func decodeKey(data []byte) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, errors.New("not a PEM private key")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	private, ok := parsed.(*ecdsa.PrivateKey)
	if !ok || private.Curve != elliptic.P256() {
		return nil, fmt.Errorf("a %T, not an ECDSA P-256 key", parsed)
	}
	return private, nil
}
