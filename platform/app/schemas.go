package app

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/uberservice/uberservice/platform/database"
	"golang.org/x/sync/errgroup"
)

// openDatabases opens and, when configured, migrates every module's schema,
// concurrently: each module has its own role, migrations table and lock.
// Migrating, it first makes each module's role own its schema (see
// moduleAccess and openSchema); the pool, and so the migrations, connect as
// that role, so that every table they create is the role's.
func (s *System) openDatabases(ctx context.Context) error {
	ensure := sync.OnceValue(func() error { return s.ensureDatabases(ctx) })
	g, gctx := errgroup.WithContext(ctx)
	var mu sync.Mutex
	for _, r := range s.modules {
		if r.env.Module.Migrations == nil {
			continue
		}
		g.Go(func() error {
			m := s.stored(r.env.Module)
			start := time.Now()
			db, provisioned, err := s.openSchema(gctx, m, ensure)
			if err != nil {
				return err
			}
			opened := time.Since(start) - provisioned
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
			r.env.Log.Info("migrated", "took", time.Since(start).Round(time.Millisecond), "role", provisioned.Round(time.Millisecond),
				"open", opened.Round(time.Millisecond), "migrate", (time.Since(start) - provisioned - opened).Round(time.Millisecond))
			return nil
		})
	}
	return g.Wait()
}

// openSchema opens m's pool and, migrating, makes sure first that m's role
// exists and owns m's schema, and how long that took. Every start-up after
// the first finds it so over the module's own connection (see
// database.Provisioned), and needs no administrator's: only when the role,
// the schema or the database is missing, or not yet the role's, does it
// create the databases (once, through ensure) and provision the role.
func (s *System) openSchema(ctx context.Context, m Module, ensure func() error) (*database.DB, time.Duration, error) {
	if !s.cfg.Migrate {
		db, err := OpenModuleDB(ctx, s.cfg, m)
		return db, 0, err
	}
	start := time.Now()
	a, err := moduleAccess(s.cfg, m)
	if err != nil {
		return nil, 0, err
	}
	// A password in the module's URL is set again at every start (see
	// database.ProvisionRole), so that changing it takes effect: such a
	// module takes the longer way, as does one with no administrator's URL,
	// for which the longer way is the same.
	if a.password == "" && a.admin != "" {
		if db, ok := s.provisioned(ctx, m, a.role); ok {
			return db, 0, nil
		}
	}
	if err := ensure(); err != nil {
		return nil, 0, err
	}
	if err := provisionRole(ctx, a, m); err != nil {
		return nil, 0, err
	}
	provisioned := time.Since(start)
	db, err := OpenModuleDB(ctx, s.cfg, m)
	return db, provisioned, err
}

// provisioned opens m's pool when role already owns m's schema, as on
// every start-up after the first; false, and nothing left open, otherwise.
func (s *System) provisioned(ctx context.Context, m Module, role string) (*database.DB, bool) {
	db, err := OpenModuleDB(ctx, s.cfg, m)
	if err != nil {
		return nil, false
	}
	if ok, err := database.Provisioned(ctx, db, role); err != nil || !ok {
		_ = db.Close()
		return nil, false
	}
	return db, true
}

// OpenModuleDB opens m's schema on its configured database, as m's role.
func OpenModuleDB(ctx context.Context, cfg Config, m Module) (*database.DB, error) {
	a, err := moduleAccess(cfg, m)
	if err != nil {
		return nil, err
	}
	db, err := database.Open(ctx, a.url, m.Name, database.PoolOptions{MaxOpen: cfg.PoolSize})
	if database.IsMissingDatabase(err) {
		return nil, fmt.Errorf("module %s: %w: run `uberservice migrate` with the same configuration first, which creates it", m.Name, err)
	}
	if err != nil {
		return nil, roleHint(err, a, m, cfg.Migrate)
	}
	return db, nil
}

// ensureDatabases creates every database a migrating module's schema goes
// into, when it is missing, so that the first `migrate` of a deployment (or
// `run`, which migrates) needs no createdb before it.
func (s *System) ensureDatabases(ctx context.Context) error {
	seen := map[string]bool{}
	for _, r := range s.modules {
		if r.env.Module.Migrations == nil {
			continue
		}
		a, err := moduleAccess(s.cfg, s.stored(r.env.Module))
		if err != nil {
			return err
		}
		url := a.admin
		if url == "" {
			url = a.url
		}
		if seen[url] {
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
