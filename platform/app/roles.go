package app

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/uberservice/uberservice/platform/database"
)

// access is how a module reaches its schema: as its own role (see
// database.ProvisionRole), which owns the schema and nothing else.
//
// The administrative URL is the shared one (--database-url URL), whose role
// creates the modules' roles: a superuser, as on a laptop, or one with
// CREATEROLE. A module's own URL (--database-url MODULE=URL) whose user is
// another names the module's role and carries its password: migrate creates
// that role with it, or sets it, when the shared URL's role may, on the same
// server. A module with no URL of its own, or whose URL's user is the shared
// one's (or none), gets the role database.RoleName names, reached on its
// database with no password: the server must trust it, as a laptop's
// Postgres and the embedded one do.
type access struct {
	url      string // what the module's pool connects with, as its role
	admin    string // the administrative URL on the module's database; "" when none
	role     string
	password string
	derived  bool // url is admin's with the role's name and no password
}

func moduleAccess(cfg Config, m Module) (access, error) {
	own := cfg.ModuleURLs[m.Name]
	configured := own
	if configured == "" {
		configured = cfg.DatabaseURL
	}
	if configured == "" {
		return access{}, fmt.Errorf("module %s: no database URL", m.Name)
	}
	adminUser := userName(cfg.DatabaseURL)
	if own == "" || userName(own) == "" || userName(own) == adminUser {
		dbName, err := database.DatabaseName(configured)
		if err != nil {
			return access{}, fmt.Errorf("module %s: %w", m.Name, err)
		}
		role := database.RoleName(dbName, m.Name)
		roleURL, err := database.AsRole(configured, role, "")
		if err != nil {
			return access{}, fmt.Errorf("module %s: %w", m.Name, err)
		}
		return access{url: roleURL, admin: configured, role: role, derived: true}, nil
	}
	u, err := url.Parse(own)
	if err != nil {
		return access{}, fmt.Errorf("module %s: %q is not a postgres:// URL", m.Name, database.Redact(own))
	}
	pw, _ := u.User.Password()
	a := access{url: own, role: u.User.Username(), password: pw}
	if shared, err := url.Parse(cfg.DatabaseURL); err == nil && cfg.DatabaseURL != "" && sameServer(shared, u) {
		shared.Path = u.Path
		a.admin = shared.String()
	}
	return a, nil
}

func userName(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		return ""
	}
	return u.User.Username()
}

func sameServer(a, b *url.URL) bool {
	port := func(u *url.URL) string {
		if p := u.Port(); p != "" {
			return p
		}
		return "5432"
	}
	return a.Hostname() == b.Hostname() && port(a) == port(b)
}

// provisionRole makes m's role own m's schema, when there is an
// administrative URL to do it with; otherwise the role, and its schema or
// its right to create it, are the operator's to provide.
func provisionRole(ctx context.Context, a access, m Module) error {
	if a.admin == "" {
		return nil
	}
	err := database.ProvisionRole(ctx, a.admin, database.Role{Name: a.role, Password: a.password, Schema: m.Name, Module: m.Name})
	if err != nil {
		return fmt.Errorf("module %s: %w", m.Name, err)
	}
	return nil
}

// roleHint explains a failure to connect as m's role.
func roleHint(err error, a access, m Module, migrated bool) error {
	switch {
	case database.IsMissingRole(err) && !migrated:
		return fmt.Errorf("module %s: %w: run `uberservice migrate` with the same configuration first, which creates role %s", m.Name, err, a.role)
	case database.IsAuthFailure(err) && a.derived:
		return fmt.Errorf("module %s: %w: the server does not trust role %s without a password; "+
			"give the module a URL with it, --database-url %s=postgres://%s:PASSWORD@HOST/DATABASE (env UBERSERVICE_DATABASE_URL_%s)",
			m.Name, err, a.role, m.Name, a.role, strings.ToUpper(m.Name))
	}
	return fmt.Errorf("module %s: %w", m.Name, err)
}

// ModuleURL is the URL module's pool connects with: as its role, on its
// database.
func (s *System) ModuleURL(module string) (string, error) {
	for _, m := range s.all {
		if m.Name == module {
			a, err := moduleAccess(s.cfg, m)
			return a.url, err
		}
	}
	return "", fmt.Errorf("no module %q", module)
}
