// Package apptest starts modules for real in tests: on free ports, against a
// fresh Postgres database that is dropped afterwards, on an in-process bus the
// test can publish on. There is no skipping: a test that needs Postgres fails
// when it cannot reach it.
//
// A System is the world a module's component tests run in: its URL, its
// local gateway (Local) and the same gateway over HTTP (Remote), events
// published as their producer would (Publish, Deliver), the dead letters, and
// the module's schema for checks no API offers.
package apptest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/mail"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/peerauth"
	"github.com/uberservice/uberservice/platform/tracing"
)

// AdminURL is the server the test databases are created on:
// UBERSERVICE_TEST_DATABASE_URL, or the local Postgres.
func AdminURL() string {
	if u := os.Getenv("UBERSERVICE_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// FreshDatabase creates an empty database for t and drops it when t ends.
func FreshDatabase(t testing.TB) string {
	t.Helper()
	admin := AdminURL()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("apptest: Postgres is required and unreachable at %s (set UBERSERVICE_TEST_DATABASE_URL): %v", admin, err)
	}
	defer conn.Close(context.Background())
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "uberservice_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("apptest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		// The modules' roles go with it: roles are the server's, not the
		// database's, and would pile up.
		if err := database.DropDatabase(ctx, admin, name); err != nil {
			t.Logf("apptest: drop %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("apptest: parse %s: %v", admin, err)
	}
	u.Path = "/" + name
	return u.String()
}

// System is a started set of modules under test.
type System struct {
	*app.System
	Mail *mail.Recorder
	DB   string           // the database URL
	Keys *peerauth.KeySet // the key set it trusts (see Operator and As)
}

// Start starts modules (chosen by cfg.Modules, default all) on free ports
// against a fresh database, with migrations applied and fast retries, and stops
// them when t ends. Fields set in cfg are kept.
//
// Unless cfg names a bus, the system runs on an in-process bus of the test's
// own, which the runtime trusts to reach every consumer: so a consumer starts
// without the module that produces its events, and the test plays that
// producer with Publish.
//
// Its key set is the tests' one (shared by every system of a test), and
// beside all it declares the Harness module, which Remote calls as. People's
// tokens are the development issuer's, of the same folder (Person).
func Start(t testing.TB, all []app.Module, cfg app.Config) *System {
	t.Helper()
	if cfg.Keys == nil {
		cfg.Keys = keys(t, all)
	}
	if cfg.Identity.Issuer == "" {
		cfg.Identity = people(t).Config()
	}
	if len(cfg.Modules) == 0 {
		for _, m := range all {
			cfg.Modules = append(cfg.Modules, m.Name)
		}
	}
	all = append(slices.Clone(all), harness(all))
	if cfg.DatabaseURL == "" {
		cfg.DatabaseURL = FreshDatabase(t)
	}
	if cfg.Bus == nil && cfg.BusURL == "" {
		bus := messaging.NewInProcess(Logger(t))
		t.Cleanup(func() { _ = bus.Close() }) // after the system stops: cleanups run last-in first-out
		cfg.Bus = bus
	}
	rec := mail.NewRecorder(slog.New(slog.DiscardHandler))
	if cfg.Mail == nil {
		cfg.Mail = rec
	}
	if cfg.Log == nil {
		cfg.Log = Logger(t)
	}
	cfg.Migrate = true
	if cfg.PoolSize == 0 {
		cfg.PoolSize = 4 // many systems run at once against one Postgres
	}
	if cfg.Retry == (messaging.RetryPolicy{}) {
		cfg.Retry = messaging.RetryPolicy{MaxAttempts: 3, Backoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond}
	}
	for _, listen := range []*map[string]string{&cfg.Listen, &cfg.InternalListen} {
		if *listen == nil {
			*listen = map[string]string{}
		}
		for _, m := range all {
			if _, ok := (*listen)[m.Name]; !ok {
				(*listen)[m.Name] = "127.0.0.1:0"
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sys, err := app.Start(ctx, all, cfg)
	if err != nil {
		t.Fatalf("apptest: start modules: %v", err)
	}
	t.Cleanup(func() {
		if err := sys.Stop(context.Background()); err != nil {
			t.Errorf("apptest: stop: %v", err)
		}
	})
	return &System{System: sys, Mail: rec, DB: cfg.DatabaseURL, Keys: cfg.Keys}
}

// URL is the base URL of module's public API in s.
func (s *System) URL(module string) string { return "http://" + s.Addr(module) }

// InternalURL is the base URL of module's internal API in s: its gateway and
// ops routes, what another process's --peer names.
func (s *System) InternalURL(module string) string { return "http://" + s.InternalAddr(module) }

// SchemaAs opens module's schema in s's database as the module's role, as
// its own pool does: what it may not do, the module may not either. It is
// closed when t ends.
func (s *System) SchemaAs(t testing.TB, module string) *database.DB {
	t.Helper()
	u, err := s.ModuleURL(module)
	if err != nil {
		t.Fatalf("apptest: the %s role: %v", module, err)
	}
	db, err := database.Open(context.Background(), u, module, database.PoolOptions{MaxOpen: 2})
	if err != nil {
		t.Fatalf("apptest: open the %s schema as its role: %v", module, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// Logger returns a logger that writes to the test's log, at warning level
// unless UBERSERVICE_TEST_LOG=debug.
func Logger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("UBERSERVICE_TEST_LOG") == "debug" {
		level = slog.LevelDebug
	}
	return slog.New(tracing.LogHandler(identity.LogHandler(correlation.Handler(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level})))))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
