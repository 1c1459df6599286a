package peerauth

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
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

// Token returns a token of the signer's name for audience, living TTL. The
// same token serves every call until two thirds of its life are spent, so a
// call pays for a signature only every few minutes.
func (g *Signer) Token(audience string) (string, error) {
	now := g.set.clock()
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.cached[audience]; ok && now.Before(c.renewFrom) {
		return c.token, nil
	}
	token, err := g.Mint(audience, TTL)
	if err != nil {
		return "", err
	}
	g.cached[audience] = cachedToken{token: token, renewFrom: now.Add(TTL * 2 / 3)}
	return token, nil
}

// Mint signs a new token of the signer's name for audience, living ttl, with
// roles: an operator's token is the Operator signer's, for OpsAudience, with
// the Operator role.
func (g *Signer) Mint(audience string, ttl time.Duration, roles ...string) (string, error) {
	now := g.set.clock()
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
