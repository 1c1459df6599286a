package e2e

import (
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// peopleSuite holds the running processes to who may do what (DOMAIN.md,
// "Identity and access"), over HTTP as a client meets it: no token, or one
// that is expired, garbage or forged, is 401 with a Bearer challenge; a role
// a route does not admit is 403; someone else's resource is 404, exactly as
// one that does not exist. Two customers, Grace and Hugo, each hold an
// account; staff run the store and do support work, and move no money.
// Whatever is refused changes nothing.
func peopleSuite(t *testing.T, sys system) {
	s := shopOn(t, sys)
	graceSubject := unique("grace")
	grace := personAs(t, sys, graceSubject, identity.Customer)
	hugo := person(t, sys, "hugo", identity.Customer)

	// Each opens an account, which is theirs.
	a := s.openAccount(t, grace, "Grace Customer", "", 10000)
	if a.Owner != graceSubject {
		t.Fatalf("Grace's account is owned by %q, want her subject %q", a.Owner, graceSubject)
	}
	h := s.openAccount(t, hugo, "Hugo Other", "", 500)
	sku := "PEOPLE-" + randomHex(3)
	s.createProduct(t, sku, "A thing", 700, "")
	s.receive(t, sku, 5, 5)
	graceAccount := s.acc + "/v1/accounts/" + a.ID

	t.Run("no token is 401 with a Bearer challenge", func(t *testing.T) {
		reads := map[string]string{
			"accounts":  "/v1/accounts/" + a.ID,
			"im":        "/v1/managers/" + newUUID(),
			"orders":    "/v1/orders?account_id=" + a.ID,
			"warehouse": "/v1/products/" + sku,
			"portal":    "/v1/portal/accounts/" + a.ID,
		}
		for module, path := range reads {
			if sys.URL(module) == "" {
				continue
			}
			unauthenticated(t, apptest.Do(t, http.MethodGet, sys.URL(module)+path, nil))
		}
		unauthenticated(t, apptest.Do(t, http.MethodPost, graceAccount+"/deposits", map[string]any{"amount": 1}))
		unauthenticated(t, apptest.Do(t, http.MethodPost, graceAccount+"/deposits", map[string]any{"amount": 1},
			"Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("grace:secret"))))
		s.expectLedger(t, grace, a.ID, 10000, map[string]int64{}, map[string]int64{})
	})

	t.Run("an expired, garbage or forged token is 401", func(t *testing.T) {
		// A token the suite signs as the issuer does is let in while it
		// lives: so the expired one below is refused for its age alone.
		now := time.Now()
		fresh := mint(t, graceSubject, []identity.Role{identity.Customer}, now, now.Add(10*time.Minute))
		apptest.Do(t, http.MethodGet, graceAccount, nil, "Authorization", "Bearer "+fresh).Expect(t, http.StatusOK)

		expired := mint(t, graceSubject, []identity.Role{identity.Customer}, now.Add(-2*time.Hour), now.Add(-time.Hour))
		valid := strings.TrimPrefix(grace[1], "Bearer ")
		for name, token := range map[string]string{
			"expired an hour ago":       expired,
			"garbage":                   "not-a-token",
			"three parts of garbage":    "abc.def.ghi",
			"with its signature edited": forge(valid),
		} {
			t.Run(name, func(t *testing.T) {
				unauthenticated(t, apptest.Do(t, http.MethodGet, graceAccount, nil, "Authorization", "Bearer "+token))
				unauthenticated(t, apptest.Do(t, http.MethodPost, graceAccount+"/deposits", map[string]any{"amount": 1},
					"Authorization", "Bearer "+token))
			})
		}
		s.expectLedger(t, grace, a.ID, 10000, map[string]int64{}, map[string]int64{})
	})

	t.Run("another customer's account is 404", func(t *testing.T) {
		for _, path := range []string{"", "/transactions", "/notifications"} {
			expectProblem(t, apptest.Do(t, http.MethodGet, graceAccount+path, nil, hugo...), http.StatusNotFound, "")
		}
		for _, path := range []string{"/deposits", "/withdrawals"} {
			expectProblem(t, apptest.Do(t, http.MethodPost, graceAccount+path, map[string]any{"amount": 100}, hugo...),
				http.StatusNotFound, "")
		}
		s.expectLedger(t, grace, a.ID, 10000, map[string]int64{}, map[string]int64{})
		s.expectLedger(t, hugo, h.ID, 500, map[string]int64{}, map[string]int64{})
	})

	t.Run("a customer creating a product is 403", func(t *testing.T) {
		forged := "FORGED-" + randomHex(3)
		expectProblem(t, apptest.Do(t, http.MethodPost, s.wh+"/v1/products", map[string]any{"sku": forged, "name": "Mine", "price": 1}, grace...),
			http.StatusForbidden, "forbidden")
		expectProblem(t, apptest.Do(t, http.MethodPost, s.wh+"/v1/products/"+sku+"/stock", map[string]any{"quantity": 100}, grace...),
			http.StatusForbidden, "forbidden")
		expectProblem(t, apptest.Do(t, http.MethodGet, s.wh+"/v1/products/"+forged, nil, s.staff...), http.StatusNotFound, "")
		s.expectStock(t, sku, 5, 0)
		// A customer reads a product, to order it.
		var p product
		expectJSON(t, apptest.Do(t, http.MethodGet, s.wh+"/v1/products/"+sku, nil, grace...), http.StatusOK, &p, productKeys...)
		if p.SKU != sku || p.OnHand != 5 {
			t.Fatalf("Grace reads product %s as %+v, want it with 5 on hand", sku, p)
		}
	})

	t.Run("staff read any account and move no money", func(t *testing.T) {
		var got account
		expectJSON(t, apptest.Do(t, http.MethodGet, graceAccount, nil, s.staff...), http.StatusOK, &got, accountKeys...)
		if got.ID != a.ID || got.Balance != 10000 || got.Owner != graceSubject {
			t.Fatalf("staff read Grace's account as %+v, want it at 10000, owned by %s", got, graceSubject)
		}
		if es := s.ledger(t, s.staff, a.ID); len(es) != 1 {
			t.Fatalf("staff read Grace's ledger as %s, want her one deposit", describe(es))
		}
		for _, path := range []string{"/deposits", "/withdrawals"} {
			expectProblem(t, apptest.Do(t, http.MethodPost, graceAccount+path, map[string]any{"amount": 100}, s.staff...),
				http.StatusForbidden, "forbidden")
		}
		s.expectLedger(t, grace, a.ID, 10000, map[string]int64{}, map[string]int64{})
	})

	t.Run("an order from another customer's account is rejected as unknown_account", func(t *testing.T) {
		o := s.place(t, hugo, a.ID, []line{{SKU: sku, Quantity: 1}})
		expectRejected(t, o, "unknown_account")
		s.expectLedger(t, grace, a.ID, 10000, map[string]int64{}, map[string]int64{})
		s.expectStock(t, sku, 5, 0)
		// The order is Hugo's, who placed it, not Grace's.
		if got := s.order(t, hugo, o.ID); got.Status != "rejected" {
			t.Fatalf("Hugo reads his order as %s, want it rejected", describe(got))
		}
		expectProblem(t, apptest.Do(t, http.MethodGet, s.ord+"/v1/orders/"+o.ID, nil, grace...), http.StatusNotFound, "")
		if list := s.orders(t, grace, a.ID); len(list) != 0 {
			t.Fatalf("Grace lists %s on her account, want none: she placed none", describe(list))
		}
		// Staff, who read any order, may not place one: it would move money.
		expectProblem(t, apptest.Do(t, http.MethodPost, s.ord+"/v1/orders", orderRequest(a.ID, line{SKU: sku, Quantity: 1}), s.staff...),
			http.StatusForbidden, "forbidden")
		s.expectLedger(t, grace, a.ID, 10000, map[string]int64{}, map[string]int64{})
	})

	t.Run("the portal answers 404 for another customer's account", func(t *testing.T) {
		expectProblem(t, apptest.Do(t, http.MethodGet, s.portal+"/v1/portal/accounts/"+a.ID, nil, hugo...), http.StatusNotFound, "")
		if v := portalOf(t, s.portal, grace, a.ID); v.Account.Balance != 10000 {
			t.Fatalf("Grace's portal view %s, want her account at 10000", describe(v))
		}
		if v := portalOf(t, s.portal, s.staff, a.ID); v.Account.Balance != 10000 {
			t.Fatalf("staff's portal view of Grace's account %s, want it at 10000", describe(v))
		}
	})

	t.Run("managers: staff make and link them, each reads their own", func(t *testing.T) {
		im := sys.URL("im")
		expectProblem(t, apptest.Do(t, http.MethodPost, im+"/v1/managers", map[string]any{
			"subject": graceSubject, "name": "Grace Manager", "email": "grace@im.example.com",
			"referral_code": "SELF-" + randomHex(4), "commission_bps": 10000,
		}, grace...), http.StatusForbidden, "forbidden")
		mine, ann := newManager(t, sys, s.staff, "ann", map[string]any{
			"name": "Ann", "email": "ann@im.example.com", "referral_code": "ANN-" + randomHex(4), "commission_bps": 100,
		})
		theirs, _ := newManager(t, sys, s.staff, "ben", map[string]any{
			"name": "Ben", "email": "ben@im.example.com", "referral_code": "BEN-" + randomHex(4), "commission_bps": 100,
		})
		expectJSON(t, apptest.Do(t, http.MethodGet, im+"/v1/managers/"+mine.ID, nil, ann...), http.StatusOK, nil, managerKeys...)
		for _, path := range []string{"", "/summary", "/commissions", "/notifications"} {
			expectProblem(t, apptest.Do(t, http.MethodGet, im+"/v1/managers/"+theirs.ID+path, nil, ann...), http.StatusNotFound, "")
		}
		// A manager cannot link an account to themselves; nor can its owner.
		for _, as := range [][]string{ann, grace} {
			expectProblem(t, apptest.Do(t, http.MethodPost, im+"/v1/managers/"+mine.ID+"/accounts", map[string]any{"account_id": a.ID}, as...),
				http.StatusForbidden, "forbidden")
		}
		if v := portalOf(t, s.portal, grace, a.ID); v.Manager != nil {
			t.Fatalf("refused links gave Grace's account manager %s", describe(v.Manager))
		}
	})
}

// unauthenticated fails unless r is the 401 of a request without a valid
// bearer token, with its challenge.
func unauthenticated(t testing.TB, r apptest.Response) {
	t.Helper()
	expectProblem(t, r, http.StatusUnauthorized, "unauthenticated")
	if got := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
		t.Fatalf("401 with WWW-Authenticate %q, want a Bearer challenge", got)
	}
}

// mint signs a token for subject with roles, issued at issued and expiring
// at exp, as the development issuer of keysDir signs its own, with its key:
// every cluster of this package trusts that issuer (config gives them
// keysDir). It makes what a system's Person does not, a token out of its
// lifetime.
func mint(t testing.TB, subject string, roles []identity.Role, issued, exp time.Time) string {
	t.Helper()
	if _, err := identity.Development(keysDir); err != nil { // the issuer's key, made if there is none yet
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(keysDir, identity.DevelopmentKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		t.Fatalf("%s is not PEM", identity.DevelopmentKeyFile)
	}
	raw, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	public, err := key.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	thumb, err := public.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if err := key.Set(jwk.KeyIDKey, base64.RawURLEncoding.EncodeToString(thumb)); err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	tok, err := jwt.NewBuilder().Issuer(identity.DevelopmentIssuer).Subject(subject).
		Audience([]string{identity.DefaultAudience}).IssuedAt(issued).NotBefore(issued).Expiration(exp).
		Claim(identity.DefaultRolesClaim, names).Build()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256(), key))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

// forge is token, a compact JWS, with a character in the middle of its
// signature changed: what it says is unchanged, and no key signed it.
func forge(token string) string {
	dot := strings.LastIndexByte(token, '.')
	i := dot + (len(token)-dot)/2
	c := byte('A')
	if token[i] == 'A' {
		c = 'B'
	}
	return token[:i] + string(c) + token[i+1:]
}
