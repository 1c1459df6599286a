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
