package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"os/user"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/mail"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/pgembed"
)

const usageText = `uberservice runs any subset of its modules: all in one process, or each in a process of its own.

Usage:
  uberservice [run] [flags]      start modules (the default command)
  uberservice migrate [flags]    apply migrations and exit
  uberservice modules [--format json]   list the modules: port, gateways, events
  uberservice probe URL          GET URL; exit 0 on a 2xx (a health check for images with no shell)
  uberservice deploy compose|kubernetes [--out DIR]   render the deployment files of the modules

Run 'uberservice <command> -h' for the flags of a command.
`

// Main is the whole command line of the binary; it returns the exit code.
func Main(args []string, modules ...Module) int {
	return run(args, modules, os.Stdout, os.Stderr)
}

func run(args []string, modules []Module, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == pgembed.ChildCommand {
		return pgembed.RunChild(args[1:])
	}
	cmd := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "run":
		err = runCommand(args, modules, stderr)
	case "migrate":
		err = migrateCommand(args, modules, stderr)
	case "modules":
		err = listCommand(args, modules, stdout, stderr)
	case "deploy":
		err = deployCommand(args, modules, stdout, stderr)
	case "probe":
		err = probeCommand(args)
	case "help":
		fmt.Fprint(stdout, usageText)
		return 0
	default:
		fmt.Fprintf(stderr, "uberservice: unknown command %q\n\n%s", cmd, usageText)
		return 2
	}
	var usage *UsageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "uberservice: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "uberservice: %v\n", err)
		return 1
	}
}

// flags are the options shared by run and migrate.
type flags struct {
	modules   string
	listen    multiFlag
	databases databaseFlag
	bus       string
	busNS     string
	peers     multiFlag
	mailURL   string
	noMigrate bool
	logLevel  string
	logFormat string
	shutdown  time.Duration
	pgDir     string
	poolSize  int
	debug     string
}

func newFlagSet(name string, stderr io.Writer, f *flags, modules []Module, serving bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "%s\nFlags of %s (each also read from the environment variable it names):\n", usageText, name)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.modules, "modules", os.Getenv("UBERSERVICE_MODULES"), "comma-separated modules to start (env UBERSERVICE_MODULES; default all)")
	f.databases = databaseFlagFromEnv(modules)
	fs.Var(&f.databases, "database-url", "Postgres URL shared by all modules (env DATABASE_URL), or MODULE=URL for a module's own database (env UBERSERVICE_DATABASE_URL_<MODULE>); repeatable. Default: the local Postgres on 127.0.0.1:5432, else an embedded one")
	fs.StringVar(&f.pgDir, "embedded-postgres-dir", envOr("UBERSERVICE_EMBEDDED_POSTGRES_DIR", pgembed.DefaultDir()), "data folder of the embedded Postgres used when no database is configured or found")
	fs.StringVar(&f.logLevel, "log-level", envOr("UBERSERVICE_LOG_LEVEL", "info"), "debug, info, warn or error (env UBERSERVICE_LOG_LEVEL)")
	fs.StringVar(&f.logFormat, "log-format", envOr("UBERSERVICE_LOG_FORMAT", "text"), "text or json (env UBERSERVICE_LOG_FORMAT)")
	busUsage := "the event bus: gochannel (in-process, the default), nats://HOST:4222 (NATS JetStream), amqp://USER:PASS@HOST:5672/ (RabbitMQ) or postgres (on the shared database) (env UBERSERVICE_BUS)"
	if !serving {
		busUsage = "the event bus the modules run on: on nats://..., amqp://... or postgres, migrate creates every selected module's consumer group, so that the events published before the module first starts wait for it (env UBERSERVICE_BUS; gochannel, the default, keeps no groups)"
	}
	fs.StringVar(&f.bus, "bus", os.Getenv("UBERSERVICE_BUS"), busUsage)
	fs.StringVar(&f.busNS, "bus-namespace", os.Getenv("UBERSERVICE_BUS_NAMESPACE"), "prefix for every topic and consumer group, so that several deployments can share one broker (env UBERSERVICE_BUS_NAMESPACE)")
	if serving {
		f.listen = envList("UBERSERVICE_LISTEN")
		fs.Var(&f.listen, "listen", "MODULE=ADDR, repeatable (env UBERSERVICE_LISTEN, comma-separated; default each module's port)")
		f.peers = envList("UBERSERVICE_PEERS")
		fs.Var(&f.peers, "peer", "MODULE=URL of a module running elsewhere, repeatable (env UBERSERVICE_PEERS, comma-separated)")
		fs.StringVar(&f.mailURL, "mail-url", os.Getenv("UBERSERVICE_MAIL_URL"), "smtp://user:pass@host:port?from=ADDR, or log to record emails without sending (env UBERSERVICE_MAIL_URL; default log)")
		fs.BoolVar(&f.noMigrate, "no-migrate", os.Getenv("UBERSERVICE_NO_MIGRATE") == "true", "do not apply migrations at start-up (env UBERSERVICE_NO_MIGRATE=true)")
		fs.DurationVar(&f.shutdown, "shutdown-timeout", 20*time.Second, "bound on a graceful stop")
		fs.IntVar(&f.poolSize, "db-pool-size", 10, "connections per module pool")
		fs.StringVar(&f.debug, "debug-listen", os.Getenv("UBERSERVICE_DEBUG_LISTEN"), "ADDR to serve Go's profiler on (/debug/pprof/), e.g. 127.0.0.1:6060 (env UBERSERVICE_DEBUG_LISTEN; default off)")
	}
	return fs
}

func (f *flags) config(modules []Module, stderr io.Writer) (Config, *slog.Logger, error) {
	log, err := newLogger(stderr, f.logLevel, f.logFormat)
	if err != nil {
		return Config{}, nil, err
	}
	cfg := Config{Log: log, Migrate: !f.noMigrate, ShutdownTimeout: f.shutdown, PoolSize: f.poolSize,
		DatabaseURL: f.databases.shared, ModuleURLs: f.databases.modules, BusURL: f.bus, BusNamespace: f.busNS}
	if f.modules != "" {
		for _, n := range strings.Split(f.modules, ",") {
			if n = strings.TrimSpace(n); n != "" {
				cfg.Modules = append(cfg.Modules, n)
			}
		}
	}
	if _, err := Select(modules, cfg.Modules); err != nil {
		return cfg, log, err
	}
	names := map[string]bool{}
	for _, m := range modules {
		names[m.Name] = true
	}
	if cfg.Listen, err = f.listen.pairs("--listen", names); err != nil {
		return cfg, log, err
	}
	if cfg.Peers, err = f.peers.pairs("--peer", names); err != nil {
		return cfg, log, err
	}
	for m := range cfg.ModuleURLs {
		if !names[m] {
			return cfg, log, usagef("--database-url %s=...: unknown module %q", m, m)
		}
	}
	return cfg, log, nil
}

func runCommand(args []string, modules []Module, stderr io.Writer) error {
	var f flags
	fs := newFlagSet("run", stderr, &f, modules, true)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %v", fs.Args())
	}
	cfg, log, err := f.config(modules, stderr)
	if err != nil {
		return err
	}
	if cfg.Mail, err = mail.NewSender(f.mailURL, log); err != nil {
		return &UsageError{err.Error()}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if f.debug != "" {
		stopDebug, err := serveDebug(ctx, f.debug, log)
		if err != nil {
			return err
		}
		defer stopDebug()
	}
	release, err := resolveDatabase(ctx, &cfg, modules, f.pgDir, log)
	if err != nil {
		return err
	}
	defer release()
	sys, err := Start(ctx, modules, cfg)
	if err != nil {
		return err
	}
	<-ctx.Done()
	stop() // a second signal kills the process the default way
	log.Info("shutting down")
	return sys.Stop(context.Background())
}

func migrateCommand(args []string, modules []Module, stderr io.Writer) error {
	var f flags
	fs := newFlagSet("migrate", stderr, &f, modules, false)
	if err := fs.Parse(args); err != nil {
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
	selected, _ := Select(modules, cfg.Modules)
	bus, err := provisioningBus(ctx, cfg, selected, log)
	if err != nil {
		return err
	}
	if bus != nil {
		defer func() {
			if err := bus.Close(); err != nil {
				log.Warn("closing the bus", "bus", bus.Name(), "error", err)
			}
		}()
	}
	errs := make(chan error, len(selected))
	for _, m := range selected {
		go func() {
			if m.Migrations == nil {
				errs <- nil
				return
			}
			db, err := OpenModuleDB(ctx, cfg, m)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			if err := MigrateModule(ctx, db, m); err != nil {
				errs <- err
				return
			}
			log.Info("migrated", "module", m.Name)
			if bus != nil && len(m.Consumes) > 0 {
				if err := bus.Provision(ctx, m.Name, m.Consumes); err != nil {
					errs <- fmt.Errorf("module %s: %w", m.Name, err)
					return
				}
				log.Info("provisioned the consumer group", "module", m.Name, "bus", bus.Name(), "topics", m.Consumes)
			}
			errs <- nil
		}()
	}
	var all []error
	for range selected {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

// provisioningBus opens the bus on which migrate creates the consumer groups
// of the selected modules, or returns nil when there is none to create: the
// in-process bus keeps no groups, and a module consumes only if it has a
// schema (its inbox).
//
// Unprovisioned, a group on a broker exists only from its first subscription
// on, and misses what was published before: on a fresh deployment, a module
// that starts before another has ever run would publish events nobody keeps
// for it. Run before any module starts, migrate makes every group exist first.
func provisioningBus(ctx context.Context, cfg Config, selected []Module, log *slog.Logger) (messaging.Bus, error) {
	if cfg.BusURL == "" || cfg.BusURL == "gochannel" {
		return nil, nil
	}
	consumes := false
	for _, m := range selected {
		consumes = consumes || (m.Migrations != nil && len(m.Consumes) > 0)
	}
	if !consumes {
		return nil, nil
	}
	bus, err := messaging.Open(ctx, cfg.BusURL, messaging.Options{DatabaseURL: cfg.DatabaseURL, Namespace: cfg.BusNamespace, Log: log})
	if err != nil {
		return nil, fmt.Errorf("open the bus: %w", err)
	}
	if !bus.CrossProcess() {
		_ = bus.Close()
		return nil, nil
	}
	return bus, nil
}

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

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("invalid --log-level %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, usagef("invalid --log-format %q (text or json)", format)
	}
	log := slog.New(correlation.Handler(h))
	slog.SetDefault(log)
	return log, nil
}

// multiFlag is a repeatable NAME=VALUE flag that also accepts comma-separated
// lists, as the environment variables do.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

func (m *multiFlag) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*m = append(*m, part)
		}
	}
	return nil
}

func (m multiFlag) pairs(flagName string, modules map[string]bool) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range m {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return nil, usagef("%s %q: want MODULE=VALUE", flagName, kv)
		}
		if !modules[k] {
			var valid []string
			for n := range modules {
				valid = append(valid, n)
			}
			sort.Strings(valid)
			return nil, usagef("%s %q: unknown module %q; valid modules: %s", flagName, kv, k, strings.Join(valid, ", "))
		}
		out[k] = v
	}
	return out, nil
}

func envList(name string) multiFlag {
	var m multiFlag
	if v := os.Getenv(name); v != "" {
		_ = m.Set(v)
	}
	return m
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// databaseFlag is --database-url: a plain URL is the database every module
// shares; MODULE=URL gives one module a database of its own.
type databaseFlag struct {
	shared  string
	modules map[string]string
}

var moduleName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func (d *databaseFlag) String() string { return d.shared }

func (d *databaseFlag) Set(v string) error {
	if k, url, ok := strings.Cut(v, "="); ok && moduleName.MatchString(k) {
		if url == "" {
			return fmt.Errorf("want MODULE=URL, got %q", v)
		}
		if d.modules == nil {
			d.modules = map[string]string{}
		}
		d.modules[k] = url
		return nil
	}
	d.shared = v
	return nil
}

// databaseFlagFromEnv reads DATABASE_URL and UBERSERVICE_DATABASE_URL_<MODULE>.
func databaseFlagFromEnv(modules []Module) databaseFlag {
	d := databaseFlag{shared: os.Getenv("DATABASE_URL")}
	for _, m := range modules {
		if url := os.Getenv("UBERSERVICE_DATABASE_URL_" + strings.ToUpper(m.Name)); url != "" {
			_ = d.Set(m.Name + "=" + url)
		}
	}
	return d
}

// probeCommand answers whether url serves a 2xx: the health check of a
// container image that has no shell or curl.
func probeCommand(args []string) error {
	if len(args) != 1 {
		return usagef("usage: uberservice probe URL")
	}
	client := http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(args[0])
	if err != nil {
		return fmt.Errorf("probe %s: %w", args[0], err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("probe %s: %s", args[0], resp.Status)
	}
	return nil
}
