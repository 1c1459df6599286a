package peerauth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwt"
)

// A Signer makes the tokens of one name. It is safe for concurrent use.
type Signer struct {
	name string
	key  *keyPair
	set  *KeySet

	mu     sync.Mutex
	cached map[string]cachedToken // audience -> the token in use
}

type cachedToken struct {
	token     string
	renewFrom time.Time
}

// Signer returns the signer of name, whose private key s must hold.
func (s *KeySet) Signer(name string) (*Signer, error) {
	p, ok := s.private[name]
	if !ok {
		return nil, fmt.Errorf("peerauth: no private key of %s here (%s%s)", name, name, privateExt)
	}
	return &Signer{name: name, key: p, set: s, cached: map[string]cachedToken{}}, nil
}

// Name is the name the signer signs for.
func (g *Signer) Name() string { return g.name }

// Token returns a token of the signer's name for audience, living TTL. The
// same token serves every call until two thirds of its life are spent, so a
// call pays for a signature only every few minutes, and a token is never
// sent with less than a third of its life (and Skew) to go.
func (g *Signer) Token(audience string) (string, error) {
	now := g.set.clock()
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.cached[audience]; ok && now.Before(c.renewFrom) {
		return c.token, nil
	}
	token, err := g.mint(now, audience, TTL, nil)
	if err != nil {
		return "", err
	}
	g.cached[audience] = cachedToken{token: token, renewFrom: now.Add(TTL * 2 / 3)}
	return token, nil
}

// Mint signs a new token of the signer's name for audience, living ttl, at
// most MaxLifetime, with roles. Token is what a module calls with; Mint is
// for the tokens that tools and tests hand out. A ttl of zero or less makes
// a token that has expired already, for tests of its refusal.
func (g *Signer) Mint(audience string, ttl time.Duration, roles ...string) (string, error) {
	return g.mint(g.set.clock(), audience, ttl, roles)
}

// OperatorToken mints an operator's credential, living ttl: the Operator
// signer's token for OpsAudience, with the Operator role. It is what the
// ops routes of every module ask for.
func (g *Signer) OperatorToken(ttl time.Duration) (string, error) {
	if g.name != Operator {
		return "", fmt.Errorf("peerauth: %s cannot sign an operator's token: only %s's key can", g.name, Operator)
	}
	return g.Mint(OpsAudience, ttl, Operator)
}

func (g *Signer) mint(now time.Time, audience string, ttl time.Duration, roles []string) (string, error) {
	switch {
	case audience == "":
		return "", errors.New("peerauth: a token needs an audience")
	case ttl > MaxLifetime:
		return "", fmt.Errorf("peerauth: a token lives at most %s, not %s", MaxLifetime, ttl)
	case slices.Contains(roles, Operator) && g.name != Operator:
		return "", fmt.Errorf("peerauth: %s cannot sign a token with the %s role", g.name, Operator)
	}
	var jti [12]byte
	_, _ = rand.Read(jti[:])
	b := jwt.NewBuilder().Issuer(Issuer).Subject(g.name).Audience([]string{audience}).
		IssuedAt(now).NotBefore(now).Expiration(now.Add(ttl)).JwtID(base64.RawURLEncoding.EncodeToString(jti[:]))
	if len(roles) > 0 {
		b = b.Claim(rolesClaim, roles)
	}
	tok, err := b.Build()
	if err != nil {
		return "", fmt.Errorf("peerauth: build %s's token: %w", g.name, err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, g.key.key))
	if err != nil {
		return "", fmt.Errorf("peerauth: sign %s's token: %w", g.name, err)
	}
	return string(signed), nil
}
