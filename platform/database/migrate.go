package database

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/golang-migrate/migrate/v4"
	migratepgx "github.com/golang-migrate/migrate/v4/database/pgx/v5"
	"github.com/golang-migrate/migrate/v4/source/iofs"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

//go:embed schema/*.sql
var platformSchema embed.FS

// Migration sets applied to every module schema: the platform's own tables
// first, then the module's. Each has its own migrations table, so the two
// histories never collide and modules migrate concurrently (golang-migrate's
// advisory lock is per schema and table).
const (
	PlatformTable = "platform_migrations"
	ModuleTable   = "schema_migrations"
)

// PlatformMigrations is the platform's own migration set.
func PlatformMigrations() fs.FS {
	sub, err := fs.Sub(platformSchema, "schema")
	if err != nil {
		panic(err) // the embed pattern above guarantees the folder exists
	}
	return sub
}

// Migrate applies every up migration in src to the schema of d, recording them
// in table.
func Migrate(ctx context.Context, d *DB, src fs.FS, table string) error {
	// Most starts find every migration applied: one query on the module's
	// pool says so, where golang-migrate would open a connection of its own
	// and take a lock to find it out.
	if head, err := latestVersion(src); err == nil {
		if v, dirty, err := appliedVersion(ctx, d, table); err == nil && !dirty && v == head {
			return nil
		}
	}
	m, closeFn, err := migrator(d, src, table)
	if err != nil {
		return err
	}
	defer closeFn()
	done := make(chan error, 1)
	go func() { done <- m.Up() }()
	select {
	case err = <-done:
	case <-ctx.Done():
		m.GracefulStop <- true
		err = <-done
	}
	if err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("database: migrate %s (%s): %w", d.Schema, table, err)
	}
	return nil
}

// AtHead reports whether every migration in src is applied (the schema may be
// ahead of src) and none is dirty.
func AtHead(ctx context.Context, d *DB, src fs.FS, table string) (bool, error) {
	head, err := latestVersion(src)
	if err != nil {
		return false, err
	}
	version, dirty, err := appliedVersion(ctx, d, table)
	if errors.Is(err, sql.ErrNoRows) {
		return head == 0, nil
	}
	if err != nil {
		return false, err
	}
	// A schema ahead of this binary is ready too: during a rolling update the new
	// version migrates first, and the old one keeps serving on the schema its
	// successor left (migrations are written to stay backward compatible).
	return !dirty && uint(version) >= head, nil
}

// appliedVersion is the version golang-migrate recorded in table, and
// whether it is dirty; sql.ErrNoRows when none is.
func appliedVersion(ctx context.Context, d *DB, table string) (version uint, dirty bool, err error) {
	var v int64
	row := d.WithContext(ctx).Raw(fmt.Sprintf("SELECT version, dirty FROM %q LIMIT 1", table)).Row()
	if err := row.Scan(&v, &dirty); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, false, err
		}
		return 0, false, fmt.Errorf("database: read %s.%s: %w", d.Schema, table, err)
	}
	return uint(v), dirty, nil
}

func latestVersion(src fs.FS) (uint, error) {
	s, err := iofs.New(src, ".")
	if err != nil {
		return 0, fmt.Errorf("database: read migrations: %w", err)
	}
	defer s.Close()
	v, err := s.First()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, fmt.Errorf("database: read migrations: %w", err)
	}
	for {
		next, err := s.Next(v)
		if err != nil {
			return v, nil
		}
		v = next
	}
}

// migrator uses a connection of its own so that closing golang-migrate, which
// closes the *sql.DB it was given, leaves the module's pool alone.
func migrator(d *DB, src fs.FS, table string) (*migrate.Migrate, func(), error) {
	s, err := iofs.New(src, ".")
	if err != nil {
		return nil, nil, fmt.Errorf("database: read migrations for %s: %w", d.Schema, err)
	}
	sqlDB, err := sql.Open("pgx", d.URL)
	if err != nil {
		return nil, nil, fmt.Errorf("database: open %s for migrations: %w", d.Schema, err)
	}
	driver, err := migratepgx.WithInstance(sqlDB, &migratepgx.Config{MigrationsTable: table, SchemaName: d.Schema})
	if err != nil {
		_ = sqlDB.Close()
		return nil, nil, fmt.Errorf("database: migration driver for %s: %w", d.Schema, err)
	}
	m, err := migrate.NewWithInstance("iofs", s, "postgres", driver)
	if err != nil {
		_ = driver.Close()
		return nil, nil, fmt.Errorf("database: migrator for %s: %w", d.Schema, err)
	}
	return m, func() { _, _ = m.Close(); _ = sqlDB.Close() }, nil
}
