package identity

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/problem"
)

// ErrNoCredential is the answer to a request the middleware does not let
// in: 401, its detail saying why.
var ErrNoCredential = problem.New(http.StatusUnauthorized, "unauthenticated", "The request carries no valid bearer token")

// Challenge is the WWW-Authenticate of a request with no bearer token (RFC
// 6750 3); a request whose token is refused gets InvalidTokenChallenge.
const (
	Challenge             = `Bearer realm="uberservice"`
	InvalidTokenChallenge = Challenge + `, error="invalid_token"`
)

// Middleware lets a request in only with a token v verifies, sent as
// "Authorization: Bearer <token>", and gives its handlers the person the
// token names (PersonFrom on the request's context). Any other request is
// answered ErrNoCredential, with the challenge of RFC 6750.
//
// Every line logged with the request's context then names the subject
// (LogHandler), the request's own line among them.
func (v *Verifier) Middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			token, missing := bearer(req.Header.Get(echo.HeaderAuthorization))
			if missing != nil {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, Challenge)
				return ErrNoCredential.WithDetail("%s", missing.Reason)
			}
			p, err := v.Verify(req.Context(), token)
			if err != nil {
				c.Response().Header().Set(echo.HeaderWWWAuthenticate, InvalidTokenChallenge)
				var r *RefusedError
				if errors.As(err, &r) {
					return ErrNoCredential.WithDetail("%s", r.Reason)
				}
				return ErrNoCredential
			}
			c.SetRequest(req.WithContext(WithPerson(req.Context(), p)))
			return next(c)
		}
	}
}

// bearer returns the token of an Authorization header: "Bearer" in any
// case, then the token.
func bearer(header string) (string, *RefusedError) {
	if header == "" {
		return "", refused(nil, "no Authorization header")
	}
	scheme, token, _ := strings.Cut(strings.TrimSpace(header), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", refused(nil, "the Authorization header is not a Bearer token")
	}
	if token = strings.TrimSpace(token); token == "" {
		return "", refused(nil, "the Authorization header has no token")
	}
	return token, nil
}
