package database_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/database"
)

// A role is named after its database and module, within Postgres' 63 bytes,
// and two long database names that share their first 63 bytes still get
// roles of their own.
func TestRoleName(t *testing.T) {
	if got := database.RoleName("uberservice", "accounts"); got != "uberservice_accounts" {
		t.Errorf("RoleName(uberservice, accounts) = %q", got)
	}
	long := strings.Repeat("d", 60)
	a, b := database.RoleName(long+"a", "warehouse"), database.RoleName(long+"b", "warehouse")
	if len(a) > 63 || len(b) > 63 || a == b || !strings.HasSuffix(a, "_warehouse") {
		t.Errorf("RoleName of long databases: %q and %q", a, b)
	}
	if got := database.RoleName("db", strings.Repeat("m", 63)); len(got) > 63 {
		t.Errorf("RoleName of a long module: %q", got)
	}
}

// ProvisionRole is idempotent, and DropDatabase takes the database's roles
// with it.
func TestDropDatabaseDropsItsRoles(t *testing.T) {
	ctx := context.Background()
	dbURL := apptest.FreshDatabase(t)
	name, err := database.DatabaseName(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	role := database.RoleName(name, "alpha")
	for range 2 {
		if err := database.ProvisionRole(ctx, dbURL, database.Role{Name: role, Schema: "alpha", Module: "alpha"}); err != nil {
			t.Fatalf("provision: %v", err)
		}
	}
	asRole, err := database.AsRole(dbURL, role, "")
	if err != nil {
		t.Fatal(err)
	}
	db, err := database.Open(ctx, asRole, "alpha", database.PoolOptions{MaxOpen: 1})
	if err != nil {
		t.Fatalf("open as %s: %v", role, err)
	}
	if err := db.Exec("CREATE TABLE t (id int)").Error; err != nil {
		t.Fatalf("create a table as %s: %v", role, err)
	}
	_ = db.Close()

	if err := database.DropDatabase(ctx, apptest.AdminURL(), name); err != nil {
		t.Fatal(err)
	}
	admin, err := url.Parse(apptest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_roles WHERE rolname = $1", role).Scan(&n); err != nil || n != 0 {
		t.Errorf("role %s after its database was dropped: %d (%v), want none", role, n, err)
	}
}

// An administrator need not be a superuser: a role with CREATEROLE that owns
// the database provisions the modules' roles, upgrades included. Once
// provisioned, a role with no such right gets through ProvisionRole too, as
// `run` does on a shared URL that is not an administrator's.
func TestProvisionRoleWithCreateRole(t *testing.T) {
	ctx := context.Background()
	dbURL := apptest.FreshDatabase(t)
	name, err := database.DatabaseName(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	admin, plain := name+"_admin", name+"_plain"
	exec := func(sql string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec("CREATE ROLE " + admin + " LOGIN CREATEROLE")
	exec("CREATE ROLE " + plain + " LOGIN")
	t.Cleanup(func() {
		if err := database.DropDatabase(ctx, apptest.AdminURL(), name); err != nil {
			t.Error(err)
		}
		exec := func(sql string) {
			conn, err := pgx.Connect(ctx, apptest.AdminURL())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, sql); err != nil {
				t.Errorf("%s: %v", sql, err)
			}
		}
		exec("DROP ROLE " + admin)
		exec("DROP ROLE " + plain)
	})
	exec("ALTER DATABASE " + name + " OWNER TO " + admin)
	exec("CREATE SCHEMA beta AUTHORIZATION " + admin)
	exec("SET ROLE " + admin + "; CREATE TABLE beta.t (id bigserial PRIMARY KEY)")

	as := func(role string) string {
		u, err := database.AsRole(dbURL, role, "")
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	for _, schema := range []string{"alpha", "beta"} {
		r := database.Role{Name: database.RoleName(name, schema), Password: "pw", Schema: schema, Module: schema}
		if err := database.ProvisionRole(ctx, as(admin), r); err != nil {
			t.Fatalf("provision %s as a CREATEROLE admin: %v", schema, err)
		}
		if err := database.ProvisionRole(ctx, as(plain), r); err != nil {
			t.Errorf("provision %s again as a plain role: %v", schema, err)
		}
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var owner string
	if err := conn.QueryRow(ctx, "SELECT tableowner FROM pg_tables WHERE schemaname = 'beta' AND tablename = 't'").Scan(&owner); err != nil || owner != database.RoleName(name, "beta") {
		t.Errorf("beta.t is owned by %q (%v), want beta's role", owner, err)
	}
}
