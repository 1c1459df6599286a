package app

import (
	"context"
	"fmt"
	"log/slog"
	"os/user"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/pgembed"
)

// resolveDatabase fills cfg.DatabaseURL when nothing configured one: the local
// Postgres on 127.0.0.1:5432 when it answers (database uberservice, created if
// missing), otherwise an embedded Postgres whose data stays in pgDir. release
// stops the embedded server, if one was started.
func resolveDatabase(ctx context.Context, cfg *Config, modules []Module, pgDir string, log *slog.Logger) (release func(), err error) {
	release = func() {}
	selected, _ := Select(modules, cfg.Modules)
	needsDB := false
	for _, m := range selected {
		if m.Migrations != nil && cfg.ModuleURLs[m.Name] == "" {
			needsDB = true
		}
	}
	if cfg.DatabaseURL != "" || !needsDB {
		if cfg.DatabaseURL != "" {
			log.Info("using database", "url", database.Redact(cfg.DatabaseURL))
		}
		return release, nil
	}
	if url, ok := localPostgres(ctx); ok {
		if err := database.EnsureDatabase(ctx, url); err != nil {
			return release, err
		}
		log.Info("using the local Postgres", "url", database.Redact(url))
		cfg.DatabaseURL = url
		return release, nil
	}
	log.Info("no database configured and none on 127.0.0.1:5432: starting an embedded Postgres", "dir", pgDir)
	srv, err := pgembed.Start(ctx, pgembed.Options{Dir: pgDir, Port: 5433, Database: "uberservice", Logger: log})
	if err != nil {
		srv, err = pgembed.Start(ctx, pgembed.Options{Dir: pgDir, Database: "uberservice", Logger: log})
	}
	if err != nil {
		return release, fmt.Errorf("start embedded Postgres: %w", err)
	}
	cfg.DatabaseURL = srv.URL()
	log.Info("embedded Postgres ready", "url", database.Redact(srv.URL()))
	return func() {
		if err := srv.Stop(context.Background()); err != nil {
			log.Error("stop embedded Postgres", "error", err)
		}
	}, nil
}

// localPostgres finds a Postgres on 127.0.0.1:5432 that lets us in as the
// postgres role or as the current OS user.
func localPostgres(ctx context.Context) (string, bool) {
	roles := []string{"postgres"}
	if u, err := user.Current(); err == nil && u.Username != "postgres" {
		roles = append(roles, u.Username)
	}
	for _, role := range roles {
		probe := fmt.Sprintf("postgres://%s@127.0.0.1:5432/postgres?sslmode=disable&connect_timeout=2", role)
		pctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		conn, err := pgx.Connect(pctx, probe)
		cancel()
		if err == nil {
			_ = conn.Close(ctx)
			return fmt.Sprintf("postgres://%s@127.0.0.1:5432/uberservice?sslmode=disable", role), true
		}
	}
	return "", false
}
