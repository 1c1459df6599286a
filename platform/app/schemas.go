package app

import (
	"context"
	"fmt"
	"sync"

	"github.com/uberservice/uberservice/platform/database"
	"golang.org/x/sync/errgroup"
)

// openDatabases opens and, when configured, migrates every module's schema,
// concurrently: each module has its own migrations table and lock.
func (s *System) openDatabases(ctx context.Context) error {
	if s.cfg.Migrate {
		if err := s.ensureDatabases(ctx); err != nil {
			return err
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	var mu sync.Mutex
	for _, r := range s.modules {
		if r.env.Module.Migrations == nil {
			continue
		}
		g.Go(func() error {
			db, err := OpenModuleDB(gctx, s.cfg, r.env.Module)
			if err != nil {
				return err
			}
			mu.Lock()
			r.env.DB = db
			s.onStop(func(context.Context) error {
				if err := db.Close(); err != nil {
					return fmt.Errorf("module %s: close database: %w", r.env.Module.Name, err)
				}
				return nil
			})
			mu.Unlock()
			if !s.cfg.Migrate {
				return nil
			}
			if err := MigrateModule(gctx, db, r.env.Module); err != nil {
				return err
			}
			r.env.Log.Info("migrated")
			return nil
		})
	}
	return g.Wait()
}

// OpenModuleDB opens m's schema on its configured database.
func OpenModuleDB(ctx context.Context, cfg Config, m Module) (*database.DB, error) {
	url := moduleURL(cfg, m)
	if url == "" {
		return nil, fmt.Errorf("module %s: no database URL", m.Name)
	}
	db, err := database.Open(ctx, url, m.Name, database.PoolOptions{MaxOpen: cfg.PoolSize})
	if database.IsMissingDatabase(err) {
		return nil, fmt.Errorf("module %s: %w: run `uberservice migrate` with the same configuration first, which creates it", m.Name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", m.Name, err)
	}
	return db, nil
}

// moduleURL is the database URL m's schema lives on.
func moduleURL(cfg Config, m Module) string {
	if u := cfg.ModuleURLs[m.Name]; u != "" {
		return u
	}
	return cfg.DatabaseURL
}

// ensureDatabases creates every database a migrating module's schema goes
// into, when it is missing, so that the first `migrate` of a deployment (or
// `run`, which migrates) needs no createdb before it.
func (s *System) ensureDatabases(ctx context.Context) error {
	seen := map[string]bool{}
	for _, r := range s.modules {
		url := moduleURL(s.cfg, r.env.Module)
		if r.env.Module.Migrations == nil || url == "" || seen[url] {
			continue
		}
		seen[url] = true
		if err := database.EnsureDatabase(ctx, url); err != nil {
			return fmt.Errorf("module %s: %w", r.env.Module.Name, err)
		}
	}
	return nil
}

// MigrateModule applies the platform's and the module's migrations to its schema.
func MigrateModule(ctx context.Context, db *database.DB, m Module) error {
	if err := database.Migrate(ctx, db, database.PlatformMigrations(), database.PlatformTable); err != nil {
		return fmt.Errorf("module %s: %w", m.Name, err)
	}
	if err := database.Migrate(ctx, db, m.Migrations, database.ModuleTable); err != nil {
		return fmt.Errorf("module %s: %w", m.Name, err)
	}
	return nil
}
