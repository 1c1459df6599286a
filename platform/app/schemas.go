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
	url := cfg.DatabaseURL
	if u := cfg.ModuleURLs[m.Name]; u != "" {
		url = u
	}
	if url == "" {
		return nil, fmt.Errorf("module %s: no database URL", m.Name)
	}
	db, err := database.Open(ctx, url, m.Name, database.PoolOptions{MaxOpen: cfg.PoolSize})
	if err != nil {
		return nil, fmt.Errorf("module %s: %w", m.Name, err)
	}
	return db, nil
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
