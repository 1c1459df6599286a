package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/fitness"
	"github.com/uberservice/uberservice/platform/messaging"
)

// shadowArgs are what compare and shadow remove are asked: a module, its
// shadow, and the database (and bus) the two run on.
type shadowArgs struct {
	flags
	module Module
	shadow string
	cfg    Config
}

// parseShadowArgs parses "MODULE --shadow NAME [flags]" (the module may come
// after the flags too) with the flags of migrate and those extra adds.
func parseShadowArgs(name string, args []string, modules []Module, stdout, stderr io.Writer, extra func(*flag.FlagSet)) (*shadowArgs, error) {
	a := &shadowArgs{}
	fs := newFlagSet(name, &a.flags, modules, false)
	fs.StringVar(&a.shadow, "shadow", os.Getenv("UBERSERVICE_SHADOW"), "the shadow's NAME, as run --shadow was given it (env UBERSERVICE_SHADOW)")
	if extra != nil {
		extra(fs)
	}
	var module string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		module, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args, stdout); err != nil {
		return nil, err
	}
	if module == "" && fs.NArg() == 1 {
		module = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return nil, usagef("unexpected arguments: %v", fs.Args())
	}
	if module == "" {
		return nil, usagef("%s: which module? (uberservice %s MODULE --shadow NAME)", name, name)
	}
	if !shadowName.MatchString(a.shadow) {
		return nil, usagef("--shadow %q: want the shadow's name, a lowercase letter then up to 15 lowercase letters or digits", a.shadow)
	}
	a.flags.modules = module
	cfg, log, err := a.flags.config(modules, stderr)
	if err != nil {
		return nil, err
	}
	a.cfg = cfg
	a.cfg.Log = log
	selected, _ := Select(modules, cfg.Modules)
	a.module = selected[0]
	if a.module.Migrations == nil {
		return nil, usagef("module %s keeps no data: it has no shadow", module)
	}
	return a, nil
}

// connect resolves the database and connects to it as its administrator,
// who may read and drop both schemas.
func (a *shadowArgs) connect(ctx context.Context, modules []Module) (*pgx.Conn, access, func(), error) {
	release, err := resolveDatabase(ctx, &a.cfg, modules, a.pgDir, a.cfg.Log)
	if err != nil {
		return nil, access{}, release, err
	}
	acc, err := moduleAccess(a.cfg, a.stored())
	if err != nil {
		return nil, acc, release, err
	}
	if acc.admin == "" {
		return nil, acc, release, usagef("the shadow of %s needs the shared database URL (--database-url URL)", a.module.Name)
	}
	conn, err := pgx.Connect(ctx, acc.admin)
	if err != nil {
		return nil, acc, release, fmt.Errorf("connect to %s: %w", database.Redact(acc.admin), err)
	}
	return conn, acc, func() { _ = conn.Close(context.Background()); release() }, nil
}

func (a *shadowArgs) stored() Module {
	m := a.module
	m.Name = ShadowSchema(m.Name, a.shadow)
	return m
}

// compareCommand is `uberservice compare`: a report, whatever it says, so
// exit 0 unless it cannot be made.
func compareCommand(args []string, modules []Module, stdout, stderr io.Writer) error {
	var since, format string
	a, err := parseShadowArgs("compare", args, modules, stdout, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&since, "since", "1h", "compare the effects since: a duration ago (1h) or a time (RFC 3339), as GET /ops/effects reads it")
		fs.StringVar(&format, "format", "text", "text, for people, or json, for programs")
	})
	if err != nil {
		return err
	}
	if format != "text" && format != "json" {
		return usagef("--format %q: want text or json", format)
	}
	from, err := fitness.ParseSince(since, time.Now())
	if err != nil {
		return usagef("--since: %v", err)
	}
	if len(a.module.Fitness) == 0 {
		return usagef("module %s declares no fitness (app.Module.Fitness): it has nothing to compare", a.module.Name)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	conn, _, closeAll, err := a.connect(ctx, modules)
	defer closeAll()
	if err != nil {
		return err
	}
	// One pool of the administrator's connection's settings: fitness reads
	// with database/sql, as a module reads its own effects (see effects.go).
	db := stdlib.OpenDB(*conn.Config())
	defer db.Close()
	from, err = fitness.SinceFork(ctx, db, a.stored().Name, database.ForkTable, from)
	if err != nil {
		return err
	}
	r, err := fitness.Compare(ctx, db, a.module.Name, a.module.Name, a.stored().Name, a.module.Fitness, from)
	if err != nil {
		return err
	}
	if format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	return r.WriteText(stdout)
}

// shadowCommand is `uberservice shadow remove`: it drops a shadow's
// consumer group, schema and role, each only if it is there, so that it may
// be run again.
func shadowCommand(args []string, modules []Module, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "remove" {
		return usagef("shadow: want 'uberservice shadow remove MODULE --shadow NAME'")
	}
	a, err := parseShadowArgs("shadow remove", args[1:], modules, stdout, stderr, nil)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	shadow := a.stored()
	transport, err := messaging.Lookup(a.cfg.BusURL)
	if err != nil {
		return &UsageError{err.Error()}
	}
	conn, acc, closeAll, err := a.connect(ctx, modules)
	defer closeAll()
	if err != nil {
		return err
	}
	if transport.CrossProcess() && len(a.module.Consumes) > 0 {
		bus, err := transport.Open(ctx, messaging.Options{DatabaseURL: a.cfg.DatabaseURL, Namespace: a.cfg.BusNamespace, Log: a.cfg.Log})
		if err != nil {
			return fmt.Errorf("open the bus: %w", err)
		}
		defer bus.Close()
		remover, ok := bus.(messaging.GroupRemover)
		if !ok {
			return errors.New("the " + bus.Name() + " bus cannot remove consumer groups")
		}
		if err := remover.RemoveGroup(ctx, shadow.Name, a.module.Consumes); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed consumer group %s from %s\n", shadow.Name, bus.Name())
	}
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{shadow.Name}.Sanitize()+" CASCADE"); err != nil {
		return fmt.Errorf("drop schema %s: %w", shadow.Name, err)
	}
	fmt.Fprintf(stdout, "dropped schema %s\n", shadow.Name)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)", acc.role).Scan(&exists); err != nil {
		return fmt.Errorf("look up role %s: %w", acc.role, err)
	}
	if exists && acc.derived {
		role := pgx.Identifier{acc.role}.Sanitize()
		for _, stmt := range []string{"DROP OWNED BY " + role, "DROP ROLE " + role} {
			if _, err := conn.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("drop role %s: %w", acc.role, err)
			}
		}
		fmt.Fprintf(stdout, "dropped role %s\n", acc.role)
	}
	return nil
}
