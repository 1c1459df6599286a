package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// cookieName is the cookie that carries the operator's token once pasted.
// It holds the token itself: the console keeps no sessions, and the token's
// own expiry (at most peerauth.MaxLifetime) ends the login.
const cookieName = "uberservice_console"

// requestHeader is the header the page's script sends with what it asks of
// the console. A form of another site cannot set it, and a script of
// another site that sets it must first ask the browser's leave (a CORS
// preflight) that the console never gives: with the SameSite=Strict cookie,
// it is what keeps a replay the page's own.
const requestHeader = "X-Console-Request"

// token returns the operator's token a request carries, from its
// Authorization header or the console's cookie, if it verifies.
func (c *console) token(r *http.Request) (string, bool) {
	tok := ""
	if scheme, t, ok := strings.Cut(r.Header.Get(echo.HeaderAuthorization), " "); ok && strings.EqualFold(scheme, "Bearer") {
		tok = strings.TrimSpace(t)
	} else if ck, err := r.Cookie(cookieName); err == nil {
		tok = ck.Value
	}
	if tok == "" {
		return "", false
	}
	if _, err := c.verify(tok); err != nil {
		return "", false
	}
	return tok, true
}

// setCookie keeps the operator's token in the browser: not readable by
// scripts, never sent by another site's request, over TLS only when the
// page was.
func setCookie(c echo.Context, token string) {
	c.SetCookie(&http.Cookie{
		Name: cookieName, Value: token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.Request().TLS != nil,
	})
}

func clearCookie(c echo.Context) {
	c.SetCookie(&http.Cookie{
		Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.Request().TLS != nil,
	})
}

// sameOrigin reports whether a request that changes something comes from
// the console's own page: it carries requestHeader, and what the browser
// says of its origin (Origin, Sec-Fetch-Site), when it says, is this site.
// A client with a Bearer token (a script, curl) is no browser to forge
// with, and needs only the header.
func sameOrigin(r *http.Request) bool {
	if r.Header.Get(requestHeader) == "" {
		return false
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return true
}
