// Package database gives each module its own Postgres schema and connection pool,
// migrates it with golang-migrate, and runs the module's transactions.
//
// Isolation is by schema and by role: a module's pool sets search_path to the
// module's name, so its SQL never names a schema, and connects as the module's
// role (see ProvisionRole), which owns that schema and has no privilege on any
// other. Moving a module to its own database is a change of URL, nothing else.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// DB is a module's handle on its schema.
type DB struct {
	*gorm.DB
	Schema string
	URL    string // connection URL with search_path set to Schema

	mu    sync.Mutex
	hooks map[string][]func()       // by table
	hold  func(ctx context.Context) // see HoldWith

	// turns admits Transact's transactions to the pool first come, first
	// served: one slot per connection. database/sql hands a released
	// connection to a random one of its waiters, so that under a load of
	// more transactions than connections a few wait many turns; a channel's
	// blocked senders are served in order. nil: no queue (a DB not made by
	// Open).
	turns chan struct{}

	stopNarrow func() // see startNarrow; nil when none

	groups grouper // see Grouped
}

var schemaName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

// PoolOptions size a module's pool.
type PoolOptions struct {
	MaxOpen int           // default 10
	MaxIdle int           // default MaxOpen
	MaxLife time.Duration // default 30m
}

// Open connects to the database at rawURL with search_path set to schema,
// creating the schema when it is missing.
func Open(ctx context.Context, rawURL, schema string, opts PoolOptions) (*DB, error) {
	if !schemaName.MatchString(schema) {
		return nil, fmt.Errorf("database: invalid schema name %q", schema)
	}
	dsn, err := withSearchPath(rawURL, schema)
	if err != nil {
		return nil, err
	}
	gdb, err := gorm.Open(postgres.New(postgres.Config{DSN: dsn}), &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		PrepareStmt:            false,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("database: open schema %s: %w", schema, err)
	}
	sqlDB, err := gdb.DB()
	if err != nil {
		return nil, fmt.Errorf("database: pool for schema %s: %w", schema, err)
	}
	if opts.MaxOpen <= 0 {
		opts.MaxOpen = 10
	}
	if opts.MaxIdle <= 0 {
		opts.MaxIdle = opts.MaxOpen
	}
	if opts.MaxLife <= 0 {
		opts.MaxLife = 30 * time.Minute
	}
	sqlDB.SetMaxIdleConns(opts.MaxIdle)
	sqlDB.SetConnMaxLifetime(opts.MaxLife)
	stopNarrow := startNarrow(sqlDB, opts)
	// On the pool's first connection, which pinging it opens: a module's
	// start-up opens one connection fewer.
	if err := ensureSchema(ctx, sqlDB, schema); err != nil {
		stopNarrow()
		_ = sqlDB.Close()
		return nil, err
	}
	return &DB{DB: gdb, Schema: schema, URL: dsn, turns: make(chan struct{}, opts.MaxOpen), stopNarrow: stopNarrow}, nil
}

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	sqlDB, err := d.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// Close closes the pool.
func (d *DB) Close() error {
	if d.stopNarrow != nil {
		d.stopNarrow()
	}
	sqlDB, err := d.DB.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// withSearchPath returns rawURL with search_path set to schema.
func withSearchPath(rawURL, schema string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("database: %q is not a postgres:// URL", Redact(rawURL))
	}
	q := u.Query()
	q.Set("search_path", schema)
	// Name the connections after the schema, so that pg_stat_activity and the
	// server's logs tell which module a backend works for. A name the URL
	// already gives is kept.
	if q.Get("application_name") == "" {
		q.Set("application_name", "uberservice-"+schema)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// ensureSchema creates schema if it does not exist. Two modules starting at once
// may race to create the same schema; the loser's unique violation is harmless.
// A schema that exists is not created again: a module's role, which owns its
// schema, may not create schemas (CREATE SCHEMA IF NOT EXISTS asks for that
// privilege before it looks).
func ensureSchema(ctx context.Context, db *sql.DB, schema string) error {
	var exists bool
	if err := db.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil {
		return fmt.Errorf("database: look up schema %s: %w", schema, err)
	}
	if exists {
		return nil
	}
	_, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize())
	if err != nil && !isUniqueViolation(err) {
		return fmt.Errorf("database: create schema %s: %w", schema, err)
	}
	return nil
}

// EnsureDatabase creates the database named in rawURL when it is missing, by
// connecting to the server's "postgres" database. A database that exists is
// left alone without asking for the maintenance database, which a managed
// Postgres may not let the role into. When the database is missing and the
// role may not create it, the error says what to run instead.
func EnsureDatabase(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("database: parse URL: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return nil
	}
	conn, err := pgx.Connect(ctx, rawURL)
	if err == nil {
		return conn.Close(context.WithoutCancel(ctx))
	}
	if !IsMissingDatabase(err) {
		return fmt.Errorf("database: connect to %s: %w", Redact(rawURL), err)
	}
	admin := *u
	admin.Path = "/postgres"
	if conn, err = pgx.Connect(ctx, admin.String()); err != nil {
		return missingDatabase(u, name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	if err != nil && !isUniqueViolation(err) && !isDuplicateDatabase(err) {
		return missingDatabase(u, name, err)
	}
	slog.InfoContext(ctx, "created database", "database", name)
	return nil
}

// missingDatabase is the error for a database that does not exist and that
// the URL's role could not create: it names the command that creates it.
func missingDatabase(u *url.URL, name string, cause error) error {
	host := u.Hostname()
	if host == "" {
		host = "localhost"
	}
	return fmt.Errorf("database: database %q does not exist, and role %q could not create it (%w): "+
		"create it as a role that may, e.g. `createdb -h %s -U postgres %s`, or grant this role CREATEDB",
		name, u.User.Username(), cause, host, name)
}

// IsMissingDatabase reports whether err is Postgres saying that the database
// asked for does not exist (SQLSTATE 3D000).
func IsMissingDatabase(err error) bool { return hasCode(err, "3D000") }

// IsMissingRole reports whether err is Postgres saying that the role asked
// for does not exist (SQLSTATE 28000, invalid_authorization_specification,
// which pg_hba rejections share).
func IsMissingRole(err error) bool { return hasCode(err, "28000") }

// IsAuthFailure reports whether err is Postgres refusing the credentials
// (SQLSTATE 28P01, or 28000 as pg_hba rejections say it).
func IsAuthFailure(err error) bool { return hasCode(err, "28P01") || hasCode(err, "28000") }

// Redact hides the password in a database URL so it can be logged.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "<unparseable database URL>"
	}
	return u.Redacted()
}

// IsUniqueViolation reports whether err is a Postgres unique_violation.
func IsUniqueViolation(err error) bool { return isUniqueViolation(err) }

func isUniqueViolation(err error) bool { return hasCode(err, "23505") }

func isDuplicateDatabase(err error) bool { return hasCode(err, "42P04") }

func hasCode(err error, code string) bool {
	var coded interface{ SQLState() string }
	return errors.As(err, &coded) && coded.SQLState() == code
}
