// Package peerauth is the identity modules present to each other's gateways
// across processes: a short-lived JWT whose subject is the calling module and
// whose audience is the gateway it calls, signed with the calling module's own
// Ed25519 key.
//
// # What a token proves
//
// A token proves which module made a call, not merely that the caller is
// inside the network: each module signs with a private key only its own
// processes hold, and every verifier holds every module's public keys, so a
// compromised module can call what it declared but cannot speak in another
// module's name. A verifier picks the key by the token's kid and accepts it
// only for the name whose key it is, and only the EdDSA algorithm: a token
// that says alg "none", or that is an HMAC keyed with a public key, is
// refused. A token is for one audience, the gateway called, so one seen by
// one gateway cannot be replayed to another, and it lives minutes (TTL), so
// one seen on the wire is soon worthless; it is not a secret channel, which
// is the transport's business. What a module may call is the runtime's
// business (its Uses); this package only says who is calling. Verify's
// errors all wrap ErrUnauthenticated: the caller answers 401, and 403 when
// the caller it names may not make the call.
//
// Clocks need not agree to the second: a verifier accepts a token whose
// times are off by up to Skew either way. It refuses a token signed to live
// longer than MaxLifetime whatever its expiry, so that a stolen long-lived
// token is worth nothing.
//
// # Keys
//
// A key set is a folder: NAME.key holds the Ed25519 private key of NAME (a
// module, or Operator for the people who work the ops routes), as PKCS#8
// PEM of mode 0600, and NAME.pub every public key of NAME that verifiers
// accept, as PKIX PEM. A process needs the .key of the modules it runs and
// every .pub. Generate writes a deployment's key set; a process reads its
// own with Load, from the folder its configuration names, or DirEnv in the
// environment. In Kubernetes, each module's Secret holds its own .key and
// every .pub, and is mounted as that folder.
//
// The operator's credential is a token too: the Operator signer's, for
// OpsAudience, with the Operator role (OperatorToken), good for an hour at
// most. Whoever holds operator.key can mint one, so it stays with the
// people, never in a module's Secret.
//
// # Rotation
//
// A rotation is a change of configuration with no downtime, in three
// steps, each rolled out to every process before the next: add the new
// public key to NAME.pub everywhere (Rotate does it, and writes the new
// NAME.key beside it); give NAME's processes the new NAME.key; once the
// tokens signed with the old key have expired (MaxLifetime after the last
// process signed with it), drop the old public key (Retire). A process
// reads its keys when it starts, so a rolling restart rolls a step out.
//
// # A laptop
//
// EnsureDevelopment makes a development key set once and keeps it, in
// DevelopmentDir beside the embedded Postgres data, so that a system split
// over several processes on one machine works with no setup at all. Those
// keys are for that machine: a deployment generates its own.
package peerauth

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/uberservice/uberservice/platform/tokencache"
)

// Issuer is the iss of every token: tokens of any other issuer, a person's
// identity provider's above all, are never taken for a module's.
const Issuer = "uberservice"

// Operator is the name, and the role, of the people who work the ops routes.
const Operator = "operator"

// OpsAudience is the audience of an operator's token: the ops routes of every
// module.
const OpsAudience = "ops"

// Timing of tokens.
const (
	// TTL is how long a module's token lives. A stolen one is good for no
	// longer, and a verifier's clock may be this far off before it matters.
	TTL = 5 * time.Minute
	// Skew is how far a verifier's clock may be from the signer's.
	Skew = 30 * time.Second
	// MaxLifetime bounds the lifetime (exp - iat) a verifier accepts, an
	// operator's token included: a token signed to live for days, stolen,
	// would be good for days, so it is refused whatever its expiry.
	MaxLifetime = time.Hour
)

// ErrUnauthenticated is what Verify's errors wrap: there is no token, or it
// is malformed, forged, expired, not yet valid, or for another audience. The
// caller answers 401; the wrapped message says which, for the logs.
var ErrUnauthenticated = errors.New("peerauth: no valid token")

// Claims is what a verified token says.
type Claims struct {
	Subject string   // the calling module, or Operator
	Roles   []string // Operator for an operator's token
	Expiry  time.Time
}

// HasRole reports whether c carries role.
func (c Claims) HasRole(role string) bool { return slices.Contains(c.Roles, role) }

// A KeySet is the keys of a deployment as one process holds them: the
// private keys of the names it signs for, the public keys of every name.
// Once loaded it is safe for concurrent use.
type KeySet struct {
	private map[string]*keyPair  // name -> its signing key
	public  map[string]publicKey // kid -> a public key and its name
	now     func() time.Time

	verified *tokencache.Cache[Claims] // tokens that verified, by token and audience
}

type keyPair struct {
	kid string
	key jwk.Key // the private key, with its kid and alg
}

type publicKey struct {
	name string
	key  ed25519.PublicKey
}

// SetClock makes s, and the signers it makes, read the time from now: for
// tests of expiry and skew. Call it before s is in use.
func (s *KeySet) SetClock(now func() time.Time) { s.now = now }

// Names are the names s holds a private key of, sorted.
func (s *KeySet) Names() []string {
	var out []string
	for n := range s.private {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// maxTokenSize bounds what Verify parses: a token of this package is a few
// hundred bytes.
const maxTokenSize = 4 << 10

// Verify checks token for audience: a compact JWS signed with EdDSA by one
// of the keys of the name its subject claims (its kid says which), issued
// by Issuer for audience, within its lifetime allowing Skew either way, and
// no longer-lived than MaxLifetime. Every error wraps ErrUnauthenticated;
// none quotes the token. A token that verified is remembered for its
// audience until it expires (a KeySet's keys never change), so a peer's
// calls cost one signature check per token, not one per call.
func (s *KeySet) Verify(token, audience string) (Claims, error) {
	key := tokencache.Key(token, audience)
	if c, ok := s.verified.Get(key, s.clock()); ok {
		return c, nil
	}
	c, err := s.verify(token, audience)
	if err != nil {
		return Claims{}, err
	}
	s.verified.Put(key, c, s.clock(), c.Expiry)
	return c, nil
}

// verify is Verify without the cache.
func (s *KeySet) verify(token, audience string) (Claims, error) {
	switch {
	case token == "":
		return Claims{}, fmt.Errorf("%w: none was sent", ErrUnauthenticated)
	case len(token) > maxTokenSize:
		return Claims{}, fmt.Errorf("%w: %d bytes long, more than a token of ours", ErrUnauthenticated, len(token))
	case audience == "":
		return Claims{}, fmt.Errorf("%w: no audience to verify it for", ErrUnauthenticated)
	}
	// The header first: which key, and which algorithm. Only the compact
	// serialization, with one signature, is a bearer token.
	msg, err := jws.Parse([]byte(token), jws.WithCompact())
	if err != nil {
		return Claims{}, fmt.Errorf("%w: malformed: %v", ErrUnauthenticated, err)
	}
	if len(msg.Signatures()) != 1 {
		return Claims{}, fmt.Errorf("%w: malformed: %d signatures", ErrUnauthenticated, len(msg.Signatures()))
	}
	header := msg.Signatures()[0].ProtectedHeaders()
	if a, ok := header.Algorithm(); !ok || a.String() != alg.String() {
		return Claims{}, fmt.Errorf("%w: signed with %s, and only %s is accepted", ErrUnauthenticated, printable(a.String()), alg)
	}
	kid, _ := header.KeyID()
	pub, known := s.public[kid]
	if !known {
		return Claims{}, fmt.Errorf("%w: signed with a key this deployment does not have (kid %s)", ErrUnauthenticated, printable(kid))
	}
	// Then the signature, by that key alone, and the claims: the subject
	// must be the key's owner, so that a module's key cannot sign for
	// another module.
	tok, err := jwt.Parse([]byte(token),
		jwt.WithKey(alg, pub.key),
		jwt.WithValidate(true),
		jwt.WithIssuer(Issuer),
		jwt.WithSubject(pub.name),
		jwt.WithAudience(audience),
		jwt.WithAcceptableSkew(Skew),
		jwt.WithClock(jwt.ClockFunc(s.clock)),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.IssuedAtKey),
		jwt.WithRequiredClaim(jwt.NotBeforeKey),
	)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: under %s key %s: %v", ErrUnauthenticated, pub.name, kid, err)
	}
	sub, _ := tok.Subject()
	iat, _ := tok.IssuedAt()
	exp, _ := tok.Expiration()
	if exp.Sub(iat) > MaxLifetime {
		return Claims{}, fmt.Errorf("%w: %s's token lives %s, longer than %s", ErrUnauthenticated, sub, exp.Sub(iat), MaxLifetime)
	}
	c := Claims{Subject: sub, Expiry: exp}
	if tok.Has(rolesClaim) {
		var roles []any
		if err := tok.Get(rolesClaim, &roles); err != nil {
			return Claims{}, fmt.Errorf("%w: roles: %v", ErrUnauthenticated, err)
		}
		for _, r := range roles {
			role, ok := r.(string)
			if !ok {
				return Claims{}, fmt.Errorf("%w: a role that is not a string", ErrUnauthenticated)
			}
			c.Roles = append(c.Roles, role)
		}
	}
	return c, nil
}

// printable bounds a string that came with a token, for an error message.
func printable(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

const rolesClaim = "roles"

func (s *KeySet) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// alg is the only algorithm a key set signs or verifies with: a token
// claiming none, an HMAC keyed with a public key, or any other algorithm
// never verifies.
var alg = jwa.EdDSA()
