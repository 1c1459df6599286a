package app

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Migrate applies the migrations of the configured modules and, on a bus
// that carries events between processes, creates the consumer group of
// every one of them that consumes. It is what `uberservice migrate` does,
// with the phases of Start that do it.
//
// Unprovisioned, a group on a broker exists only from its first subscription
// on, and misses what was published before: on a fresh deployment, a module
// that starts before another has ever run would publish events nobody keeps
// for it. Run before any module starts, migrate makes every group exist
// first. The in-process bus keeps no groups, and a module consumes only if it
// has a schema (its inbox): then there is no bus to open.
func Migrate(ctx context.Context, all []Module, cfg Config) error {
	cfg.Migrate = true
	s, err := newSystem(all, cfg, false)
	if err != nil {
		return err
	}
	phases := []phase{(*System).openDatabases}
	if s.transport.CrossProcess() && s.consumes() {
		phases = append(phases, (*System).openBus, (*System).provision)
	}
	if err := s.run(ctx, phases...); err != nil {
		return err
	}
	return s.Stop(ctx)
}

func migrateCommand(args []string, modules []Module, stdout, stderr io.Writer) error {
	var f flags
	fs := newFlagSet("migrate", &f, modules, false)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	cfg, log, err := f.config(modules, stderr)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	release, err := resolveDatabase(ctx, &cfg, modules, f.pgDir, log)
	if err != nil {
		return err
	}
	defer release()
	return Migrate(ctx, modules, cfg)
}
