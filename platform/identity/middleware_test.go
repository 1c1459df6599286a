package identity_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/identity"
	it "github.com/uberservice/uberservice/platform/identity/identitytest"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/web"
)

// A module's public API with one route behind the middleware, which
// answers who is calling.
func serveWhoAmI(t *testing.T, v *identity.Verifier) string {
	t.Helper()
	e := web.New("test", slog.New(slog.DiscardHandler))
	e.GET("/v1/me", func(c echo.Context) error {
		p, ok := identity.PersonFrom(c.Request().Context())
		if !ok {
			return c.NoContent(http.StatusTeapot)
		}
		return c.JSON(http.StatusOK, p)
	}, v.Middleware())
	srv := httptest.NewServer(web.NewServer(e).Handler)
	t.Cleanup(srv.Close)
	return srv.URL + "/v1/me"
}

func get(t *testing.T, url, authorization string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

func TestMiddleware(t *testing.T) {
	iss := it.New(t)
	url := serveWhoAmI(t, verifier(t, iss.Config()))

	for _, c := range []struct {
		name, authorization, challenge, detail string
	}{
		{"no header", "", identity.Challenge, "no Authorization header"},
		{"basic", "Basic eDp5", identity.Challenge, "not a Bearer token"},
		{"no token", "Bearer ", identity.Challenge, "no token"},
		{"garbage", "Bearer garbage", identity.InvalidTokenChallenge, "not a signed JWT"},
		{"expired", "Bearer " + iss.Mint(t, "ann", it.ExpiresIn(-time.Hour)), identity.InvalidTokenChallenge, "the token has expired"},
		{"forged", "Bearer " + iss.Mint(t, "ann", it.SignedWith("none")), identity.InvalidTokenChallenge, "signed with"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, body := get(t, url, c.authorization)
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d: %s", res.StatusCode, body)
			}
			if got := res.Header.Get("WWW-Authenticate"); got != c.challenge {
				t.Errorf("WWW-Authenticate: %q, want %q", got, c.challenge)
			}
			if ct := res.Header.Get("Content-Type"); ct != problem.ContentType {
				t.Errorf("Content-Type %q", ct)
			}
			var p problem.Problem
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatal(err)
			}
			if p.Code != "unauthenticated" || p.Status != http.StatusUnauthorized {
				t.Errorf("problem %+v", p)
			}
			if !strings.Contains(p.Detail, c.detail) {
				t.Errorf("detail %q, want it to say %q", p.Detail, c.detail)
			}
		})
	}

	for _, scheme := range []string{"Bearer ", "bearer "} {
		res, body := get(t, url, scheme+iss.Mint(t, "ann", it.Roles("customer")))
		if res.StatusCode != http.StatusOK {
			t.Fatalf("a good token, %q: status %d: %s", scheme, res.StatusCode, body)
		}
		var p identity.Person
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		if p.Subject != "ann" || !p.Has(identity.Customer) || p.Has(identity.Staff) {
			t.Errorf("the handler sees %+v", p)
		}
	}
}
