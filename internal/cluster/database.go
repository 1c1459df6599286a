package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uberservice/uberservice/platform/database"
)

// AdminURL is the Postgres server fresh databases are created on:
// UBERSERVICE_TEST_DATABASE_URL, or the local Postgres as role postgres.
func AdminURL() string {
	return envOr("UBERSERVICE_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
}

var dbPrefix = regexp.MustCompile(`^[a-z][a-z0-9_]{0,40}$`)

// FreshDatabase creates an empty database named prefix followed by random
// hex on the server of adminURL. It returns the database's URL and a func
// that drops it (forcing out any connection left).
func FreshDatabase(ctx context.Context, adminURL, prefix string) (dbURL string, drop func(context.Context) error, err error) {
	if !dbPrefix.MatchString(prefix) {
		return "", nil, fmt.Errorf("cluster: database prefix %q: use lowercase letters, digits and _", prefix)
	}
	u, err := url.Parse(adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("cluster: parse admin URL: %w", err)
	}
	name := prefix + randomHex(6)
	cctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, adminURL)
	if err != nil {
		return "", nil, fmt.Errorf("cluster: Postgres is required and unreachable at %s (set UBERSERVICE_TEST_DATABASE_URL): %w", u.Redacted(), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(cctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("cluster: create database %s: %w", name, err)
	}
	drop = func(ctx context.Context) error { return DropDatabase(ctx, adminURL, name) }
	u.Path = "/" + name
	return u.String(), drop, nil
}

// DropDatabase drops the database name on the server of adminURL, if it
// exists, forcing out the connections it still has.
func DropDatabase(ctx context.Context, adminURL, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	// The modules' roles go with it (database.ProvisionRole made one per
	// module): roles are the server's, and would outlive every test run.
	if err := database.DropDatabase(ctx, adminURL, name); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
