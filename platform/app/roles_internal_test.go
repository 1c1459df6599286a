package app

import (
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// Which role a module connects as, and with which administrator its role is
// provisioned, follows from the shared URL and the module's own.
func TestModuleAccess(t *testing.T) {
	const shared = "postgres://admin:secret@db:5432/shop?sslmode=require"
	for _, tc := range []struct {
		name        string
		own         string
		url, admin  string
		role, pw    string
		derived     bool
		noSharedURL bool
	}{
		{name: "shared", url: "postgres://shop_alpha@db:5432/shop?sslmode=require", admin: shared, role: "shop_alpha", derived: true},
		{name: "own database, the admin's user", own: "postgres://admin:secret@db:5432/alpha",
			url: "postgres://alpha_alpha@db:5432/alpha", admin: "postgres://admin:secret@db:5432/alpha", role: "alpha_alpha", derived: true},
		{name: "own role, same server", own: "postgres://app:pw@db/shop",
			url: "postgres://app:pw@db/shop", admin: "postgres://admin:secret@db:5432/shop?sslmode=require", role: "app", pw: "pw"},
		{name: "own role, another server", own: "postgres://app:pw@elsewhere/shop", url: "postgres://app:pw@elsewhere/shop", role: "app", pw: "pw"},
		{name: "own role, no shared URL", own: "postgres://app:pw@db/shop", url: "postgres://app:pw@db/shop", role: "app", pw: "pw", noSharedURL: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{DatabaseURL: shared, ModuleURLs: map[string]string{}}
			if tc.noSharedURL {
				cfg.DatabaseURL = ""
			}
			if tc.own != "" {
				cfg.ModuleURLs["alpha"] = tc.own
			}
			a, err := moduleAccess(cfg, Module{Name: "alpha"})
			if err != nil {
				t.Fatal(err)
			}
			want := access{url: tc.url, admin: tc.admin, role: tc.role, password: tc.pw, derived: tc.derived}
			if a != want {
				t.Errorf("moduleAccess = %+v, want %+v", a, want)
			}
		})
	}
}

// A server that does not trust a module's role without a password says how
// to give it one; a role missing before migrate says to run migrate.
func TestRoleHint(t *testing.T) {
	m := Module{Name: "alpha"}
	a := access{role: "shop_alpha", derived: true}
	err := roleHint(&pgconn.PgError{Code: "28P01", Message: "password authentication failed"}, a, m, true)
	if !strings.Contains(err.Error(), "--database-url alpha=postgres://shop_alpha:PASSWORD@") || !strings.Contains(err.Error(), "UBERSERVICE_DATABASE_URL_ALPHA") {
		t.Errorf("hint for a password refused: %v", err)
	}
	err = roleHint(&pgconn.PgError{Code: "28000", Message: `role "shop_alpha" does not exist`}, a, m, false)
	if !strings.Contains(err.Error(), "uberservice migrate") {
		t.Errorf("hint for a missing role: %v", err)
	}
	if err := roleHint(errors.New("boom"), a, m, true); err.Error() != "module alpha: boom" {
		t.Errorf("no hint for another error: %v", err)
	}
}
