package app_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
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
