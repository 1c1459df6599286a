package identity

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/uberservice/uberservice/platform/tokencache"
)

// maxTokenSize bounds what Verify parses: an identity provider's access
// token is a few kilobytes at most, even with many roles.
const maxTokenSize = 16 << 10

// algorithms are the algorithms a token may be signed with, each with the
// type of key it needs. Only asymmetric ones: a verifier holds public keys
// alone, so a token that says "none", or an HMAC that its forger keyed with
// a public key, never verifies.
var algorithms = map[string]jwa.KeyType{
	"RS256": jwa.RSA(), "RS384": jwa.RSA(), "RS512": jwa.RSA(),
	"PS256": jwa.RSA(), "PS384": jwa.RSA(), "PS512": jwa.RSA(),
	"ES256": jwa.EC(), "ES384": jwa.EC(), "ES512": jwa.EC(),
	"EdDSA": jwa.OKP(),
}

// Verify checks token, a compact JWS, and returns the person it names: it
// must be signed by a key of the issuer's JWKS (the one its kid names)
// with one of the asymmetric algorithms, of the issuer, for an audience
// that includes ours, unexpired, with a subject (CheckSubject); its nbf and
// iat, when it has them, must not be in the future. Times may be off by
// Skew either way. Every error is a *RefusedError, which wraps
// ErrUnauthenticated; none quotes the token.
//
// A token that verified is remembered until it expires, for as long as the
// issuer still publishes the key that signed it: the same token again costs
// a hash and a lookup, not a signature check.
func (v *Verifier) Verify(ctx context.Context, token string) (Person, error) {
	key := tokencache.Key(token)
	if hit, ok := v.verified.Get(key, time.Now()); ok && v.publishes(hit.kid) {
		return hit.person, nil
	}
	p, kid, exp, err := v.verify(ctx, token)
	if err != nil {
		return Person{}, err
	}
	v.verified.Put(key, verified{person: p, kid: kid}, time.Now(), exp)
	return p, nil
}

// verified is what the cache of a Verifier remembers of a token.
type verified struct {
	person Person
	kid    string // the key that signed it; "" for the issuer's only key
}

// publishes says whether the issuer's key set still holds the key kid names
// (or, for "", still has one key alone).
func (v *Verifier) publishes(kid string) bool {
	set := v.keys.Resource()
	if kid == "" {
		return set.Len() == 1
	}
	_, ok := set.LookupKeyID(kid)
	return ok
}

// verify is Verify without the cache; it also returns the token's kid and
// expiry.
func (v *Verifier) verify(ctx context.Context, token string) (_ Person, kid string, exp time.Time, _ error) {
	switch {
	case token == "":
		return Person{}, "", time.Time{}, refused(nil, "no token")
	case len(token) > maxTokenSize:
		return Person{}, "", time.Time{}, refused(nil, "the token is %d bytes long, more than %d", len(token), maxTokenSize)
	}
	// The header first, for the key and the algorithm: only the compact
	// serialization, with one signature, is a bearer token.
	msg, err := jws.Parse([]byte(token), jws.WithCompact())
	if err != nil {
		return Person{}, "", time.Time{}, refused(err, "the token is not a signed JWT")
	}
	if n := len(msg.Signatures()); n != 1 {
		return Person{}, "", time.Time{}, refused(nil, "the token has %d signatures", n)
	}
	header := msg.Signatures()[0].ProtectedHeaders()
	alg, _ := header.Algorithm()
	kty, ok := algorithms[alg.String()]
	if !ok {
		return Person{}, "", time.Time{}, refused(nil, "the token is signed with %s, and only %s are accepted", printable(alg.String()), accepted())
	}
	kid, _ = header.KeyID()
	key, err := v.key(ctx, kid)
	if err != nil {
		return Person{}, "", time.Time{}, err
	}
	if err := usable(key, kty, alg); err != nil {
		return Person{}, "", time.Time{}, err
	}
	// Then the signature, by that key and that algorithm alone.
	tok, err := jwt.Parse([]byte(token), jwt.WithKey(alg, key), jwt.WithValidate(false))
	if err != nil {
		return Person{}, "", time.Time{}, refused(err, "the token's signature does not verify")
	}
	// Then the claims.
	for _, c := range []string{jwt.ExpirationKey, jwt.SubjectKey} {
		if !tok.Has(c) {
			return Person{}, "", time.Time{}, refused(nil, "the token has no %s", c)
		}
	}
	err = jwt.Validate(tok, jwt.WithIssuer(v.cfg.Issuer), jwt.WithAudience(v.cfg.Audience),
		jwt.WithAcceptableSkew(v.cfg.Skew))
	if err != nil {
		return Person{}, "", time.Time{}, refused(err, "%s", invalid(err))
	}
	sub, _ := tok.Subject()
	if err := CheckSubject(sub); err != nil {
		return Person{}, "", time.Time{}, refused(nil, "%v", err)
	}
	roles, err := v.roles(tok)
	if err != nil {
		return Person{}, "", time.Time{}, err
	}
	exp, _ = tok.Expiration()
	return Person{Subject: sub, Roles: roles}, kid, exp, nil
}

// key returns the issuer's key that kid names. A key the cache does not
// hold is fetched anew, the issuer having rotated its keys since the last
// fetch, at most once in refreshGap whatever the tokens say. A token that
// names no key is verified with the issuer's only key, if it has one alone
// (OpenID Connect Core 10.1).
func (v *Verifier) key(ctx context.Context, kid string) (jwk.Key, error) {
	if kid == "" {
		set := v.keys.Resource()
		if set.Len() != 1 {
			return nil, refused(nil, "the token names no key (kid), and the issuer has %d", set.Len())
		}
		k, _ := set.Key(0)
		return k, nil
	}
	if k, ok := v.keys.Resource().LookupKeyID(kid); ok {
		return k, nil
	}
	unknown := refused(nil, "the token is signed with a key the issuer does not publish (kid %s)", printable(kid))
	select { // one refresh at a time, the others waiting for its keys
	case v.refreshing <- struct{}{}:
		defer func() { <-v.refreshing }()
	case <-ctx.Done():
		unknown.Err = ctx.Err()
		return nil, unknown
	}
	// Whoever held the lock may have fetched it.
	if k, ok := v.keys.Resource().LookupKeyID(kid); ok {
		return k, nil
	}
	if time.Since(v.lastRefresh) < v.refreshGap {
		return nil, unknown
	}
	v.lastRefresh = time.Now()
	set, err := v.cache.Refresh(ctx, v.jwksURL)
	if err != nil {
		unknown.Err = err
		return nil, unknown
	}
	if k, ok := set.LookupKeyID(kid); ok {
		return k, nil
	}
	return nil, unknown
}

// usable says whether key may verify a signature of alg, which needs a key
// of type kty: a key of another type, one the issuer published for another
// algorithm or for encryption, may not.
func usable(key jwk.Key, kty jwa.KeyType, alg jwa.SignatureAlgorithm) error {
	if key.KeyType() != kty {
		return refused(nil, "the token says %s, and its key is an %s key", alg, key.KeyType())
	}
	if a, ok := key.Algorithm(); ok && a.String() != alg.String() {
		return refused(nil, "the token says %s, and its key is for %s", alg, printable(a.String()))
	}
	if use, ok := key.KeyUsage(); ok && use != string(jwk.ForSignature) {
		return refused(nil, "the token's key is not for signatures")
	}
	return nil
}

// invalid says which claim a failed validation found wrong.
func invalid(err error) string {
	switch {
	case errors.Is(err, jwt.TokenExpiredError()):
		return "the token has expired"
	case errors.Is(err, jwt.TokenNotYetValidError()):
		return "the token is not valid yet (nbf)"
	case errors.Is(err, jwt.InvalidIssuedAtError()):
		return "the token was issued in the future (iat)"
	case errors.Is(err, jwt.InvalidIssuerError()):
		return "the token is of another issuer"
	case errors.Is(err, jwt.InvalidAudienceError()):
		return "the token is for another audience"
	}
	return "the token's claims are invalid"
}

// roles reads the roles of tok's roles claim: a JSON array of strings, or
// one string of roles separated by spaces (as OAuth's scope is). Roles
// this system does not know are dropped; no claim is no role.
func (v *Verifier) roles(tok jwt.Token) ([]Role, error) {
	raw, ok := claim(tok, v.cfg.RolesClaim)
	if !ok {
		return nil, nil
	}
	var names []string
	switch raw := raw.(type) {
	case nil:
	case string:
		names = strings.Fields(raw)
	case []string:
		names = raw
	case []any:
		for _, r := range raw {
			if s, ok := r.(string); ok {
				names = append(names, s)
			}
		}
	default:
		return nil, refused(nil, "the roles claim %s is neither a list of strings nor a string", printable(v.cfg.RolesClaim))
	}
	var roles []Role
	for _, n := range names {
		if r := Role(n); r.Known() && !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	return roles, nil
}

// claim returns tok's claim name or, when it has no claim of that very
// name, the value at name as a dotted path into its objects.
func claim(tok jwt.Token, name string) (any, bool) {
	var v any
	if tok.Has(name) {
		return v, tok.Get(name, &v) == nil
	}
	first, rest, dotted := strings.Cut(name, ".")
	if !dotted || !tok.Has(first) || tok.Get(first, &v) != nil {
		return nil, false
	}
	for _, part := range strings.Split(rest, ".") {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = obj[part]; !ok {
			return nil, false
		}
	}
	return v, true
}

func accepted() string {
	names := make([]string, 0, len(algorithms))
	for a := range algorithms {
		names = append(names, a)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// printable bounds a string that came with a token, for an error message.
func printable(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}
