package app_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/database"
)

// A module given a database URL of its own keeps its schema there, and the
// others stay on the shared one; nothing else in the configuration changes.
func TestModuleDatabaseURLMovesOneModule(t *testing.T) {
	migrations := fstest.MapFS{"0001_t.up.sql": {Data: []byte("CREATE TABLE t (id int);")}}
	mod := func(name string) app.Module {
		return app.Module{Name: name, Migrations: migrations, Init: func(context.Context, *app.Env) error { return nil }}
	}
	shared, own := apptest.FreshDatabase(t), apptest.FreshDatabase(t)
	apptest.Start(t, []app.Module{mod("alpha"), mod("beta")}, app.Config{
		DatabaseURL: shared,
		ModuleURLs:  map[string]string{"beta": own},
	})
	schemas := func(url string) map[string]bool {
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		rows, err := conn.Query(context.Background(), `SELECT table_schema FROM information_schema.tables WHERE table_name = 't'`)
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]bool{}
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			found[s] = true
		}
		return found
	}
	if got := schemas(shared); !got["alpha"] || got["beta"] {
		t.Errorf("shared database has the module tables of %v, want alpha only", got)
	}
	if got := schemas(own); !got["beta"] || got["alpha"] {
		t.Errorf("beta's own database has the module tables of %v, want beta only", got)
	}
}

// missingDatabase returns the URL of a database that does not exist yet on
// the test server, and drops it, should a test create it, when t ends.
func missingDatabase(t *testing.T, role string) string {
	t.Helper()
	u, err := url.Parse(apptest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("uberservice_test_missing_%d", rand.Int64())
	u.Path = "/" + name
	if role != "" {
		u.User = url.User(role)
	}
	t.Cleanup(func() {
		if err := database.DropDatabase(context.Background(), apptest.AdminURL(), name); err != nil {
			t.Error(err)
		}
	})
	return u.String()
}

func adminExec(t *testing.T, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), apptest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func dataModule() app.Module {
	return app.Module{Name: "alpha", Init: func(context.Context, *app.Env) error { return nil },
		Migrations: fstest.MapFS{"0001_t.up.sql": {Data: []byte("CREATE TABLE t (id int);")}}}
}

// The first migrate of a deployment creates its database, as run does for the
// default one, so that the by-hand split needs no createdb before it.
func TestMigrateCreatesAMissingDatabase(t *testing.T) {
	dbURL := missingDatabase(t, "")
	if err := app.Migrate(context.Background(), []app.Module{dataModule()}, app.Config{DatabaseURL: dbURL, Log: apptest.Logger(t)}); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatalf("the database was not created: %v", err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM alpha.t`).Scan(&n); err != nil {
		t.Fatalf("the module's schema was not migrated: %v", err)
	}
}

// A role that may not create the database gets an error that says what to
// run; a start without migrations says to run migrate first.
func TestAMissingDatabaseSaysWhatToRun(t *testing.T) {
	role := fmt.Sprintf("uberservice_test_nocreate_%d", rand.Int64())
	adminExec(t, "CREATE ROLE "+role+" LOGIN NOCREATEDB")
	t.Cleanup(func() { adminExec(t, "DROP ROLE IF EXISTS "+role) })

	err := app.Migrate(context.Background(), []app.Module{dataModule()},
		app.Config{DatabaseURL: missingDatabase(t, role), Log: apptest.Logger(t)})
	if err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), "createdb") {
		t.Errorf("migrate as a role without CREATEDB: %v, want an error naming createdb", err)
	}

	_, err = app.Start(context.Background(), []app.Module{dataModule()},
		app.Config{DatabaseURL: missingDatabase(t, ""), Log: apptest.Logger(t), Listen: map[string]string{"alpha": "127.0.0.1:0"}})
	if err == nil || !strings.Contains(err.Error(), "uberservice migrate") {
		t.Errorf("start without migrations on a missing database: %v, want an error naming uberservice migrate", err)
	}
}
