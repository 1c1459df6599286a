package app_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/database"
)

// roleModule is a module with a table t and a counter c of its own, and
// hands over the pool the runtime gave it.
func roleModule(name string, pool **database.DB, migrations ...string) app.Module {
	if len(migrations) == 0 {
		migrations = []string{"CREATE TABLE t (id bigserial PRIMARY KEY, n int);"}
	}
	fs := fstest.MapFS{}
	for i, m := range migrations {
		fs[fmt.Sprintf("%04d_m.up.sql", i+1)] = &fstest.MapFile{Data: []byte(m)}
	}
	return app.Module{Name: name, Migrations: fs, Init: func(_ context.Context, env *app.Env) error {
		if pool != nil {
			*pool = env.DB
		}
		return nil
	}}
}

func sqlState(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code
	}
	return ""
}

func dbName(t *testing.T, rawURL string) string {
	t.Helper()
	name, err := database.DatabaseName(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// owners maps every table, sequence and the schema itself in schema to its
// owner, as the admin sees them.
func owners(t *testing.T, dbURL, schema string) map[string]string {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(context.Background(), `
		SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
		UNION ALL SELECT '(schema)', pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1`, schema)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for rows.Next() {
		var name, owner string
		if err := rows.Scan(&name, &owner); err != nil {
			t.Fatal(err)
		}
		got[name] = owner
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return got
}

func allOwnedBy(t *testing.T, got map[string]string, role string) {
	t.Helper()
	if len(got) < 3 {
		t.Fatalf("owners %v: want the schema and its tables", got)
	}
	for name, owner := range got {
		if owner != role {
			t.Errorf("%s is owned by %s, want %s", name, owner, role)
		}
	}
}

// Each module's pool connects as a role of its own, which owns the module's
// schema and every table in it, platform tables and migration tables
// included, and may touch no other module's schema, nor create anything in
// public.
func TestEachModuleIsItsOwnRole(t *testing.T) {
	var alpha *database.DB
	dbURL := apptest.FreshDatabase(t)
	sys := apptest.Start(t, []app.Module{roleModule("alpha", &alpha), roleModule("beta", nil)}, app.Config{DatabaseURL: dbURL})
	ctx := context.Background()
	role := database.RoleName(dbName(t, dbURL), "alpha")

	var user string
	if err := alpha.WithContext(ctx).Raw("SELECT current_user").Scan(&user).Error; err != nil {
		t.Fatal(err)
	}
	if user != role {
		t.Errorf("alpha's pool is role %q, want %q", user, role)
	}
	allOwnedBy(t, owners(t, dbURL, "alpha"), role)
	allOwnedBy(t, owners(t, dbURL, "beta"), database.RoleName(dbName(t, dbURL), "beta"))

	for _, stmt := range []string{
		"SELECT * FROM beta.t",
		"INSERT INTO beta.t (n) VALUES (1)",
		"SELECT * FROM beta.outbox",
		"CREATE TABLE beta.x (id int)",
		"CREATE TABLE public.x (id int)",
		"CREATE SCHEMA gamma",
	} {
		err := alpha.Transact(ctx, func(tx *gorm.DB) error { return tx.Exec(stmt).Error })
		if sqlState(err) != "42501" {
			t.Errorf("%s from alpha's pool: %v, want permission denied (42501)", stmt, err)
		}
	}
	for _, stmt := range []string{
		"INSERT INTO t (n) VALUES (1)",
		"SELECT count(*) FROM t",
		"SELECT count(*) FROM outbox",
		"SELECT count(*) FROM inbox",
		"SELECT count(*) FROM dead_letters",
		"SELECT count(*) FROM notifications",
		"SELECT count(*) FROM idempotency_keys",
		"CREATE TABLE alpha.scratch (id int)",
	} {
		if err := alpha.WithContext(ctx).Exec(stmt).Error; err != nil {
			t.Errorf("%s from alpha's pool: %v", stmt, err)
		}
	}

	// apptest's SchemaAs connects as the module's role too.
	if err := sys.SchemaAs(t, "beta").WithContext(ctx).Exec("SELECT * FROM alpha.t").Error; sqlState(err) != "42501" {
		t.Errorf("SELECT * FROM alpha.t as beta's role: %v, want permission denied (42501)", err)
	}
}

// An existing deployment's schema, made and owned by the admin role as every
// schema was before modules had roles, is given to the module's role by the
// next migrate, with its tables and their sequences, so that the module's
// migrations may alter them and its pool may use them.
func TestMigrateGivesAnAdminOwnedSchemaToItsRole(t *testing.T) {
	dbURL := apptest.FreshDatabase(t)
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		"CREATE SCHEMA alpha",
		"CREATE TABLE alpha.t (id bigserial PRIMARY KEY, n int)",
		"CREATE TABLE alpha.schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)",
		"INSERT INTO alpha.schema_migrations VALUES (1, false)",
		"INSERT INTO alpha.t (n) VALUES (1)",
		"CREATE SEQUENCE alpha.free",
		"CREATE VIEW alpha.v AS SELECT n FROM alpha.t",
		"CREATE TYPE alpha.mood AS ENUM ('ok', 'not ok')",
		"CREATE FUNCTION alpha.twice(x int) RETURNS int LANGUAGE sql AS 'SELECT 2 * x'",
	} {
		if _, err := conn.Exec(context.Background(), stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	conn.Close(context.Background())

	var alpha *database.DB
	mod := roleModule("alpha", &alpha,
		"CREATE TABLE t (id bigserial PRIMARY KEY, n int);",
		"ALTER TABLE t ADD COLUMN m int; CREATE OR REPLACE FUNCTION twice(x int) RETURNS int LANGUAGE sql AS 'SELECT x + x';")
	if err := app.Migrate(context.Background(), []app.Module{mod}, app.Config{DatabaseURL: dbURL, Log: apptest.Logger(t)}); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	role := database.RoleName(dbName(t, dbURL), "alpha")
	got := owners(t, dbURL, "alpha")
	for _, name := range []string{"t", "t_id_seq", "schema_migrations", "platform_migrations", "free", "v", "outbox"} {
		if _, ok := got[name]; !ok {
			t.Errorf("no %s in alpha: %v", name, got)
		}
	}
	allOwnedBy(t, got, role)

	apptest.Start(t, []app.Module{mod}, app.Config{DatabaseURL: dbURL})
	var n int64
	if err := alpha.WithContext(context.Background()).Raw(
		"INSERT INTO t (n, m) VALUES (twice(1), nextval('free')) RETURNING (SELECT count(*) FROM v)").Scan(&n).Error; err != nil {
		t.Fatalf("alpha's pool on its inherited tables: %v", err)
	}
}

// A module's own URL whose user is not the shared one's names the module's
// role and its password: migrate creates the role with it, and sets it again
// when it changes, and the module connects as that role.
func TestAModuleURLWithAPasswordNamesItsRole(t *testing.T) {
	dbURL := apptest.FreshDatabase(t)
	role := fmt.Sprintf("uberservice_test_own_%d", rand.Int64())
	password := func(pw string) string {
		u, err := url.Parse(dbURL)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(role, pw)
		return u.String()
	}
	verifier := func() string {
		conn, err := pgx.Connect(context.Background(), dbURL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var v string
		if err := conn.QueryRow(context.Background(), "SELECT coalesce(rolpassword, '') FROM pg_authid WHERE rolname = $1", role).Scan(&v); err != nil {
			t.Fatalf("role %s: %v", role, err)
		}
		return v
	}

	var alpha *database.DB
	mod := roleModule("alpha", &alpha)
	cfg := app.Config{DatabaseURL: dbURL, ModuleURLs: map[string]string{"alpha": password("first secret")}, Log: apptest.Logger(t)}
	if err := app.Migrate(context.Background(), []app.Module{mod}, cfg); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	first := verifier()
	if first == "" {
		t.Fatalf("role %s has no password", role)
	}
	allOwnedBy(t, owners(t, dbURL, "alpha"), role)

	cfg.ModuleURLs["alpha"] = password("second 'secret'")
	apptest.Start(t, []app.Module{mod}, cfg)
	if second := verifier(); second == "" || second == first {
		t.Errorf("the password of %s did not change", role)
	}
	var user string
	if err := alpha.WithContext(context.Background()).Raw("SELECT current_user").Scan(&user).Error; err != nil {
		t.Fatal(err)
	}
	if user != role {
		t.Errorf("alpha's pool is role %q, want %q", user, role)
	}
}

// run without migrations before migrate made the roles says to run migrate.
func TestRunBeforeMigrateSaysToMigrate(t *testing.T) {
	dbURL := apptest.FreshDatabase(t)
	_, err := app.Start(context.Background(), []app.Module{roleModule("alpha", nil)},
		app.Config{DatabaseURL: dbURL, Log: apptest.Logger(t), Listen: map[string]string{"alpha": "127.0.0.1:0"}})
	if err == nil || !strings.Contains(err.Error(), "uberservice migrate") {
		t.Errorf("start without migrations before migrate: %v, want an error naming uberservice migrate", err)
	}
}
