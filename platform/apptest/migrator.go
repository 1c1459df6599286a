package apptest

import (
	"database/sql"
	"io/fs"
	"testing"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"

	"github.com/uberservice/uberservice/platform/database"
)

// Migrator steps the migrations of migrations, recorded in table of db's
// schema, one way or the other, which database.Migrate, going only up, does
// not: a test that a migration goes down and up again uses it. It is closed
// when t ends.
func Migrator(t testing.TB, db *database.DB, migrations fs.FS, table string) *migrate.Migrate {
	t.Helper()
	src, err := iofs.New(migrations, ".")
	if err != nil {
		t.Fatal(err)
	}
	sqlDB, err := sql.Open("pgx", db.URL)
	if err != nil {
		t.Fatal(err)
	}
	driver, err := migratepgx.WithInstance(sqlDB, &migratepgx.Config{MigrationsTable: table, SchemaName: db.Schema})
	if err != nil {
		t.Fatal(err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "postgres", driver)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); sqlDB.Close() })
	return m
}
