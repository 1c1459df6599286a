package app

import (
	"fmt"
	"strings"

	"github.com/uberservice/uberservice/platform/peerauth"
)

// operatorOnly admits an operator's token (`uberservice keys token`) and no
// module's: what the ops routes, and every view of them, ask of a caller.
func operatorOnly(c peerauth.Claims) error {
	if c.Subject != peerauth.Operator || !c.HasRole(peerauth.Operator) {
		return errForbidden.WithDetail("the ops routes are an operator's")
	}
	return nil
}

// VerifyOperator checks token (without "Bearer ") as the ops routes of every
// module do, and returns what it says: a module that shows operators what
// the ops routes hold (the console) admits the same people, with the same
// keys. Its errors wrap peerauth.ErrUnauthenticated for a token that is
// missing, malformed, forged or expired, and say so for one that is no
// operator's.
func (e *Env) VerifyOperator(token string) (peerauth.Claims, error) {
	keys := e.sys.cfg.Keys
	if keys == nil {
		return peerauth.Claims{}, fmt.Errorf("%w: this process has no key set to verify operators with", peerauth.ErrUnauthenticated)
	}
	claims, err := keys.Verify(strings.TrimSpace(token), peerauth.OpsAudience)
	if err != nil {
		return peerauth.Claims{}, err
	}
	if err := operatorOnly(claims); err != nil {
		return peerauth.Claims{}, fmt.Errorf("%w: %s is not an operator", peerauth.ErrUnauthenticated, claims.Subject)
	}
	return claims, nil
}
