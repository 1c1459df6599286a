// Package peerauth is the identity modules present to each other's gateways
// across processes: a short-lived JWT whose subject is the calling module and
// whose audience is the gateway it calls, signed with the calling module's own
// Ed25519 key.
//
// A token proves which module made a call, not merely that the caller is
// inside the network: each module signs with a private key only its own
// processes hold, and every verifier holds every module's public keys, so a
// compromised module can call what it declared but cannot speak in another
// module's name. What a module may call is the runtime's business (its Uses);
// this package only says who is calling.
//
// A key set is a directory: NAME.key holds the Ed25519 private key of NAME (a
// module, or "operator" for the people who work the ops routes) and NAME.pub
// every public key of NAME that verifiers accept. A process needs the .key of
// the modules it runs and every .pub; in Kubernetes each module's Secret,
// mounted as that directory, holds its own .key and all the .pub files.
// Generate writes a deployment's key set.
//
// A rotation is a change of configuration with no downtime: add the new
// public key to NAME.pub everywhere (Rotate does it, keeping the old key),
// then give NAME's processes the new NAME.key, and once the tokens signed
// with the old key have expired (minutes), drop the old public key.
//
// On a laptop, EnsureDevelopment makes a development key set once and keeps
// it, so that a system split over several processes on one machine works with
// no setup at all.
package peerauth

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
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
	// MaxLifetime bounds the lifetime a verifier accepts, an operator's
	// token included: a token signed to live for days is refused.
	MaxLifetime = 12 * time.Hour
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
type KeySet struct {
	private map[string]*keyPair // name -> its signing key
	owner   map[string]string   // kid -> name
	public  jwk.Set             // every public key, with its kid and alg
	now     func() time.Time
}

type keyPair struct {
	kid string
	key jwk.Key
}

// SetClock makes s read the time from now, for tests of expiry and skew.
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

// Verify checks token for audience: signed with a key of the name its
// subject claims, issued by Issuer, within its lifetime (allowing Skew), and
// no longer-lived than MaxLifetime. Every error wraps ErrUnauthenticated.
func (s *KeySet) Verify(token, audience string) (Claims, error) {
	if token == "" {
		return Claims{}, fmt.Errorf("%w: none was sent", ErrUnauthenticated)
	}
	msg, err := jws.Parse([]byte(token))
	if err != nil || len(msg.Signatures()) != 1 {
		return Claims{}, fmt.Errorf("%w: malformed", ErrUnauthenticated)
	}
	kid, _ := msg.Signatures()[0].ProtectedHeaders().KeyID()
	owner, known := s.owner[kid]
	if !known {
		return Claims{}, fmt.Errorf("%w: signed with a key this deployment does not have (kid %q)", ErrUnauthenticated, kid)
	}
	tok, err := jwt.Parse([]byte(token),
		jwt.WithKeySet(s.public),
		jwt.WithValidate(true),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(audience),
		jwt.WithAcceptableSkew(Skew),
		jwt.WithClock(jwt.ClockFunc(s.clock)),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.IssuedAtKey),
	)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: %v", ErrUnauthenticated, err)
	}
	sub, _ := tok.Subject()
	if sub != owner {
		return Claims{}, fmt.Errorf("%w: %q's key signed a token that claims to be %q", ErrUnauthenticated, owner, sub)
	}
	iat, _ := tok.IssuedAt()
	exp, _ := tok.Expiration()
	if exp.Sub(iat) > MaxLifetime {
		return Claims{}, fmt.Errorf("%w: a lifetime of %s is longer than %s", ErrUnauthenticated, exp.Sub(iat), MaxLifetime)
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

const rolesClaim = "roles"

func (s *KeySet) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// alg is the only algorithm a key set signs or verifies with: a token
// claiming none, or an HMAC keyed with a public key, never verifies.
var alg = jwa.EdDSA()
