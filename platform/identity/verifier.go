package identity

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/httprc/v3/errsink"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/uberservice/uberservice/platform/tokencache"
)

// Config says whose tokens a Verifier accepts.
type Config struct {
	// Issuer is the OpenID Connect issuer identifier, an http(s) URL: a
	// token's iss must be exactly this, and its discovery document is at
	// Issuer + "/.well-known/openid-configuration".
	Issuer string
	// Audience is what a token's aud must include; default DefaultAudience.
	Audience string
	// JWKSURL, when set, is where the issuer's keys are, and the discovery
	// document is not fetched.
	JWKSURL string
	// RolesClaim names the claim that holds a person's roles; default
	// DefaultRolesClaim. A dotted path reaches into objects
	// ("realm_access.roles", as Keycloak has it) unless the token has a
	// claim of that very name (Auth0's "https://example.com/roles").
	RolesClaim string
	// Skew is how far the issuer's clock may be from ours; default
	// DefaultSkew.
	Skew time.Duration
	// HTTPClient fetches the discovery document and the keys; default a
	// client with a timeout of FetchTimeout.
	HTTPClient *http.Client
}

// Defaults of a Config.
const (
	DefaultRolesClaim = "roles"
	DefaultSkew       = 30 * time.Second
	// FetchTimeout bounds each request of the default HTTP client.
	FetchTimeout = 10 * time.Second
)

// How the keys are kept fresh. They are fetched again at least every
// maxRefresh (a key the issuer withdrew stops verifying by then), at most
// every minRefresh unless the issuer's Cache-Control says otherwise within
// those bounds, and on a token whose key is unknown, at most every
// unknownKeyRefresh.
const (
	minRefresh        = 5 * time.Minute
	maxRefresh        = time.Hour
	unknownKeyRefresh = 10 * time.Second
	maxDocumentSize   = 1 << 20
)

// A Verifier verifies the tokens of one issuer. It is safe for concurrent
// use; Close stops the refreshing of its keys.
type Verifier struct {
	cfg     Config
	jwksURL string
	cache   *jwk.Cache
	keys    *httprc.ResourceBase[jwk.Set]

	verified *tokencache.Cache[verified] // tokens that verified, until they expire

	refreshing  chan struct{} // held by the one refresh on an unknown key
	lastRefresh time.Time     // of that refresh, guarded by refreshing
	refreshGap  time.Duration
}

// NewVerifier returns a verifier of cfg's issuer, once it has fetched the
// issuer's keys: a configuration that names no reachable issuer, or one
// whose discovery document names another, fails here rather than at the
// first request. ctx bounds the discovery and that first fetch; the keys
// are refreshed in the background until Close.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	v := &Verifier{cfg: cfg, jwksURL: cfg.JWKSURL, refreshing: make(chan struct{}, 1), refreshGap: unknownKeyRefresh,
		verified: tokencache.New[verified](0)}
	if v.jwksURL == "" {
		if v.jwksURL, err = discover(ctx, cfg); err != nil {
			return nil, err
		}
	}
	// The first fetch of the keys fails NewVerifier with the reason why,
	// rather than leave it waiting for them until ctx ends.
	start, failed := context.WithCancelCause(ctx)
	defer failed(nil)
	sink := errsink.NewFunc(func(_ context.Context, err error) { failed(err) })
	// One resource, fetched only from the URL configured or discovered.
	client := httprc.NewClient(httprc.WithWorkers(1), httprc.WithHTTPClient(cfg.HTTPClient), httprc.WithErrorSink(sink),
		httprc.WithWhitelist(httprc.WhitelistFunc(func(u string) bool { return u == v.jwksURL })))
	// The cache lives until Close, whatever becomes of ctx.
	if v.cache, err = jwk.NewCache(context.WithoutCancel(ctx), client); err != nil {
		return nil, fmt.Errorf("identity: start the key cache: %w", err)
	}
	err = v.cache.Register(start, v.jwksURL, jwk.WithHTTPClient(cfg.HTTPClient),
		jwk.WithMinInterval(minRefresh), jwk.WithMaxInterval(maxRefresh))
	if err == nil {
		v.keys, err = v.cache.LookupResource(start, v.jwksURL)
	}
	if err != nil {
		_ = v.Close()
		if cause := context.Cause(start); cause != nil {
			err = cause
		}
		return nil, fmt.Errorf("identity: fetch the keys of %s from %s: %w", cfg.Issuer, v.jwksURL, err)
	}
	return v, nil
}

// Close stops the refreshing of the keys.
func (v *Verifier) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := v.cache.Shutdown(ctx); err != nil {
		return fmt.Errorf("identity: stop the key cache: %w", err)
	}
	return nil
}

// Issuer is the issuer whose tokens v accepts.
func (v *Verifier) Issuer() string { return v.cfg.Issuer }

// Check says what is wrong with c, if anything, before anything is
// fetched: what NewVerifier would refuse it for at once.
func (c Config) Check() error {
	_, err := c.withDefaults()
	return err
}

func (c Config) withDefaults() (Config, error) {
	if c.Issuer == "" {
		return c, fmt.Errorf("identity: no issuer configured")
	}
	if err := checkURL(c.Issuer); err != nil {
		return c, fmt.Errorf("identity: issuer %q: %w", c.Issuer, err)
	}
	if c.JWKSURL != "" {
		if err := checkURL(c.JWKSURL); err != nil {
			return c, fmt.Errorf("identity: JWKS URL %q: %w", c.JWKSURL, err)
		}
	}
	if c.Audience == "" {
		c.Audience = DefaultAudience
	}
	if c.RolesClaim == "" {
		c.RolesClaim = DefaultRolesClaim
	}
	switch {
	case c.Skew < 0:
		return c, fmt.Errorf("identity: a negative skew (%s)", c.Skew)
	case c.Skew == 0:
		c.Skew = DefaultSkew
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: FetchTimeout}
	}
	return c, nil
}

// checkURL says what is wrong with s as the URL of an issuer or of its
// keys: OpenID Connect wants an https URL with no query or fragment; http
// is for a provider on a developer's machine or inside a private network.
func checkURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return err
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("want an https:// URL")
	case u.Host == "":
		return fmt.Errorf("no host")
	case u.User != nil:
		return fmt.Errorf("credentials in the URL")
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("a query or fragment")
	}
	return nil
}

// discovery is what a Verifier reads of an OpenID Connect discovery
// document.
type discovery struct {
	Issuer  string `json:"issuer"`
	JWKSURI string `json:"jwks_uri"`
}

// discover reads cfg's issuer's discovery document and returns where its
// keys are.
func discover(ctx context.Context, cfg Config) (string, error) {
	where := strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, where, nil)
	if err != nil {
		return "", fmt.Errorf("identity: discovery of %s: %w", cfg.Issuer, err)
	}
	req.Header.Set("Accept", "application/json")
	res, err := cfg.HTTPClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("identity: discovery of %s: %w", cfg.Issuer, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("identity: discovery of %s: GET %s: %s", cfg.Issuer, where, res.Status)
	}
	var doc discovery
	if err := json.NewDecoder(io.LimitReader(res.Body, maxDocumentSize)).Decode(&doc); err != nil {
		return "", fmt.Errorf("identity: discovery of %s: GET %s: %w", cfg.Issuer, where, err)
	}
	// A document that names another issuer is another issuer's (OpenID
	// Connect Discovery 4.3): its keys sign no token this one would accept.
	if doc.Issuer != cfg.Issuer {
		return "", fmt.Errorf("identity: discovery of %s: the document at %s is of issuer %q", cfg.Issuer, where, doc.Issuer)
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("identity: discovery of %s: the document at %s names no jwks_uri", cfg.Issuer, where)
	}
	if err := checkURL(doc.JWKSURI); err != nil {
		return "", fmt.Errorf("identity: discovery of %s: jwks_uri %q: %w", cfg.Issuer, doc.JWKSURI, err)
	}
	return doc.JWKSURI, nil
}
