// Package identity is who a person calling the public API is, from a bearer
// JWT of the configured OpenID Connect issuer.
//
// # Whom it trusts
//
// People are not the runtime's to enrol: an identity provider (Keycloak,
// Auth0, Entra ID, ...) signs their tokens, and a Verifier holds only its
// public keys, which it finds the way every OpenID Connect relying party
// does: the issuer's discovery document names its JWKS, which the Verifier
// keeps in a cache, refreshes now and then, and fetches anew when a token
// names a key it does not know yet (the issuer rotated its keys), at most
// once in a while, so that tokens with made-up key ids cannot make it hammer
// the issuer. A token verifies when one of those keys signed it with an
// asymmetric algorithm (never "none", never an HMAC, which a verifier
// holding only public keys could be tricked into keying with one), the
// issuer is the configured one, the audience includes ours, and it is within
// its lifetime, allowing Skew either way for clocks that disagree.
//
// What a token says is a Person: its subject, and the roles of the
// configured roles claim that this system knows (Role); the others mean
// nothing here and are dropped. What a person may do is each module's
// business; this package only says who is calling.
//
// # A laptop
//
// A laptop needs no identity provider: Development is an issuer in the
// process, whose key lives in the development key set's folder, that mints
// tokens (`uberservice token`) and serves its discovery document and JWKS
// to a Verifier through an http.Client of its own (Issuer.Client), so that
// the Verifier runs exactly as it does against a real provider, with no
// network. Its issuer, DevelopmentIssuer, is a name that never resolves, so
// no deployment configured for a real provider accepts its tokens.
package identity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode"
	"unicode/utf8"
)

// DefaultAudience is the audience of the public API unless configured
// otherwise: what a token's aud must include.
const DefaultAudience = "uberservice"

// Role is what a person may do, as a token's roles claim says.
type Role string

// The roles this system knows (see DOMAIN.md, "Identity and access").
const (
	Customer Role = "customer" // holds accounts and orders of their own
	Manager  Role = "manager"  // an investment manager: their own record and accounts
	Staff    Role = "staff"    // support work: reads everything, moves no money
	Operator Role = "operator" // the ops routes, no business data
)

// Roles are the roles this system knows, in a stable order.
func Roles() []Role { return []Role{Customer, Manager, Staff, Operator} }

// Known reports whether r is one of Roles.
func (r Role) Known() bool { return slices.Contains(Roles(), r) }

// Person is who calls the public API, as a verified token says.
type Person struct {
	Subject string // the token's sub: the same person in every token of the issuer
	Roles   []Role // the known roles of the token, each once
}

// Has reports whether p has role r.
func (p Person) Has(r Role) bool { return slices.Contains(p.Roles, r) }

type personKey struct{}

// WithPerson returns a context that carries p: what the middleware gives
// the handlers of a request it let in.
func WithPerson(ctx context.Context, p Person) context.Context {
	return context.WithValue(ctx, personKey{}, p)
}

// PersonFrom returns the person ctx carries, if any.
func PersonFrom(ctx context.Context) (Person, bool) {
	p, ok := ctx.Value(personKey{}).(Person)
	return p, ok
}

// MaxSubjectLen bounds a subject: OpenID Connect's sub is at most 255 ASCII
// characters, and a subject ends up as the owner of records and in logs.
const MaxSubjectLen = 255

// CheckSubject says what is wrong with s as a subject, if anything: it must
// be valid UTF-8, 1 to MaxSubjectLen bytes long, with no control or
// invisible formatting characters, so that it can be stored, compared and
// logged as it is.
func CheckSubject(s string) error {
	switch {
	case s == "":
		return errors.New("the subject is empty")
	case len(s) > MaxSubjectLen:
		return fmt.Errorf("the subject is %d bytes long, more than %d", len(s), MaxSubjectLen)
	case !utf8.ValidString(s):
		return errors.New("the subject is not valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return fmt.Errorf("the subject has a control character (%U)", r)
		}
	}
	return nil
}

// ErrUnauthenticated is what every error of Verify wraps: there is no token,
// or it is malformed, forged, expired, not yet valid, of another issuer or
// for another audience. The caller answers 401.
var ErrUnauthenticated = errors.New("identity: no valid token")

// RefusedError is why Verify refused a token. It wraps ErrUnauthenticated.
type RefusedError struct {
	// Reason says what is wrong with the token in words fit for its
	// bearer: never the token, never a key or the issuer's answers.
	Reason string
	// Err is the underlying error, for the logs; nil when Reason says all.
	Err error
}

func (e *RefusedError) Error() string {
	if e.Err != nil {
		return ErrUnauthenticated.Error() + ": " + e.Reason + ": " + e.Err.Error()
	}
	return ErrUnauthenticated.Error() + ": " + e.Reason
}

func (e *RefusedError) Unwrap() []error {
	if e.Err != nil {
		return []error{ErrUnauthenticated, e.Err}
	}
	return []error{ErrUnauthenticated}
}

func refused(err error, format string, args ...any) *RefusedError {
	return &RefusedError{Reason: fmt.Sprintf(format, args...), Err: err}
}
