package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/errgroup"

	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/httpclient"
	"github.com/uberservice/uberservice/platform/mail"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/web"
)

// Config says which modules to start and how.
type Config struct {
	Modules     []string          // names of the modules to start; empty means all
	Listen      map[string]string // module -> listen address; default ":<Port>"
	DatabaseURL string            // shared by every module unless overridden
	ModuleURLs  map[string]string // module -> its own database URL
	Peers       map[string]string // module -> base URL of a peer running elsewhere
	Migrate     bool              // apply migrations at start-up
	Mail        mail.Sender       // nil: a Recorder
	// BusURL names the bus to open (see messaging.Open): "" or "gochannel" is
	// in-process, and start-up refuses any configuration whose events would
	// have to leave the process on it.
	BusURL string
	// BusNamespace prefixes every topic and consumer group on the bus.
	BusNamespace string
	// Bus, when not nil, is used instead of BusURL and not closed by Stop.
	// The caller vouches that it reaches every consumer (tests share one
	// in-process bus between two systems this way).
	Bus      messaging.Bus
	Retry    messaging.RetryPolicy
	Client   httpclient.Options
	PoolSize int
	Log      *slog.Logger
	// ShutdownTimeout bounds a graceful stop; default 20s.
	ShutdownTimeout time.Duration
}

// UsageError is a configuration that cannot work, found before anything started.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &UsageError{fmt.Sprintf(format, args...)} }

// System is a running set of modules.
type System struct {
	cfg     Config
	log     *slog.Logger
	modules []*running
	bus     messaging.Bus
	ownBus  bool // the bus was made here, so it is closed here
	cancel  context.CancelFunc
	workers sync.WaitGroup

	mu    sync.Mutex
	local map[string]any // gateway name -> local implementation
}

type running struct {
	env      *Env
	listener net.Listener
	server   *http.Server
	relay    *messaging.Relay
	mailer   *mail.Dispatcher
}

// Select returns the modules named in names, in the order of all; empty names
// selects every module. An unknown name is a UsageError listing the valid ones.
func Select(all []Module, names []string) ([]Module, error) {
	if len(names) == 0 {
		return all, nil
	}
	var valid []string
	for _, m := range all {
		valid = append(valid, m.Name)
	}
	for _, n := range names {
		if !slices.Contains(valid, n) {
			return nil, usagef("unknown module %q; valid modules: %s", n, strings.Join(valid, ", "))
		}
	}
	var out []Module
	for _, m := range all {
		if slices.Contains(names, m.Name) {
			out = append(out, m)
		}
	}
	return out, nil
}

// Start starts the configured modules and returns once every one of them is
// serving. Nothing is left running when it fails.
func Start(ctx context.Context, all []Module, cfg Config) (sys *System, err error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 20 * time.Second
	}
	if cfg.Mail == nil {
		cfg.Mail = mail.NewRecorder(cfg.Log)
	}
	selected, err := Select(all, cfg.Modules)
	if err != nil {
		return nil, err
	}
	crossProcess := cfg.Bus != nil || (cfg.BusURL != "" && cfg.BusURL != "gochannel")
	if err := checkTopology(all, selected, cfg.Peers, !crossProcess); err != nil {
		return nil, err
	}
	ordered, err := initOrder(selected)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	sys = &System{cfg: cfg, log: cfg.Log, cancel: cancel, local: map[string]any{}}
	defer func() {
		if err != nil {
			sys.Stop(context.WithoutCancel(ctx))
			sys = nil
		}
	}()

	// Bind every port first: a port in use must fail before anything starts.
	for _, m := range ordered {
		addr := cfg.Listen[m.Name]
		if addr == "" {
			addr = ":" + strconv.Itoa(m.Port)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return sys, fmt.Errorf("module %s cannot listen on %s: %w", m.Name, addr, err)
		}
		log := cfg.Log.With("module", m.Name)
		sys.modules = append(sys.modules, &running{listener: ln, env: &Env{Module: m, Log: log, HTTP: web.New(m.Name, log), sys: sys}})
	}

	if err := sys.openDatabases(ctx); err != nil {
		return sys, err
	}
	sys.bus = cfg.Bus
	if sys.bus == nil {
		bus, err := messaging.Open(ctx, cfg.BusURL, messaging.Options{DatabaseURL: cfg.DatabaseURL, Namespace: cfg.BusNamespace, Log: cfg.Log})
		if err != nil {
			return sys, fmt.Errorf("open the bus: %w", err)
		}
		sys.bus, sys.ownBus = bus, true
	}

	for _, r := range sys.modules {
		if r.env.DB != nil {
			r.env.Events = messaging.NewConsumers(r.env.Module.Name, r.env.DB, cfg.Retry, r.env.Log)
		}
		if err := r.env.Module.Init(ctx, r.env); err != nil {
			return sys, fmt.Errorf("module %s: init: %w", r.env.Module.Name, err)
		}
		if r.env.Events != nil {
			if extra := r.env.Events.Declared(r.env.Module.Consumes); len(extra) > 0 {
				return sys, fmt.Errorf("module %s handles %v without declaring them in Consumes", r.env.Module.Name, extra)
			}
			// `migrate` provisions a group for every declared topic: one with
			// no handler would collect events that nobody ever takes.
			if missing := unhandled(r.env.Module.Consumes, r.env.Events.Topics()); len(missing) > 0 {
				return sys, fmt.Errorf("module %s declares it consumes %v but registers no handler for them", r.env.Module.Name, missing)
			}
		}
		sys.mountOps(r)
	}

	// Subscribe every consumer before any relay publishes, so that no event
	// committed before start-up is published to nobody. The groups are
	// provisioned first: subscribing would create them too, but a broker that
	// refuses a group's state then fails start-up here, within ctx, instead of
	// leaving the subscription stuck.
	for _, r := range sys.modules {
		if r.env.Events == nil {
			continue
		}
		if err := sys.bus.Provision(ctx, r.env.Module.Name, r.env.Events.Topics()); err != nil {
			return sys, fmt.Errorf("module %s: %w", r.env.Module.Name, err)
		}
		sub, err := sys.bus.Subscriber(r.env.Module.Name)
		if err != nil {
			return sys, fmt.Errorf("module %s: subscribe: %w", r.env.Module.Name, err)
		}
		if err := r.env.Events.Start(runCtx, sub); err != nil {
			return sys, fmt.Errorf("module %s: start consumers: %w", r.env.Module.Name, err)
		}
	}
	for _, r := range sys.modules {
		if r.env.DB == nil {
			continue
		}
		r.relay = messaging.NewRelay(r.env.DB, sys.bus.Publisher(), r.env.Module.Name, r.env.Log)
		r.mailer = mail.NewDispatcher(r.env.Module.Name, r.env.DB, cfg.Mail, r.env.Log)
		sys.goWorker(func() { r.relay.Run(runCtx) })
		sys.goWorker(func() { r.mailer.Run(runCtx) })
	}
	for _, r := range sys.modules {
		for _, run := range r.env.background {
			sys.goWorker(func() { run(runCtx) })
		}
	}
	for _, r := range sys.modules {
		r.server = &http.Server{Handler: r.env.HTTP, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := r.server.Serve(r.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
				r.env.Log.Error("server stopped", "error", err)
			}
		}()
		r.env.Log.Info("module started", "addr", r.listener.Addr().String(), "bus", sys.bus.Name())
	}
	return sys, nil
}

func (s *System) goWorker(f func()) {
	s.workers.Add(1)
	go func() { defer s.workers.Done(); f() }()
}

// openDatabases opens and, when configured, migrates every module's schema,
// concurrently: each module has its own migrations table and lock.
func (s *System) openDatabases(ctx context.Context) error {
	g, gctx := errgroup.WithContext(ctx)
	for _, r := range s.modules {
		if r.env.Module.Migrations == nil {
			continue
		}
		g.Go(func() error {
			db, err := OpenModuleDB(gctx, s.cfg, r.env.Module)
			if err != nil {
				return err
			}
			r.env.DB = db
			if s.cfg.Migrate {
				return MigrateModule(gctx, db, r.env.Module)
			}
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

// mountOps adds /healthz, /readyz and the dead-letter endpoints.
func (s *System) mountOps(r *running) {
	env := r.env
	web.MountHealth(env.HTTP, func() []web.Check {
		if env.DB == nil {
			return nil
		}
		return []web.Check{
			{Name: "database", Check: env.DB.Ping},
			{Name: "migrations", Check: func(ctx context.Context) error {
				ok, err := database.AtHead(ctx, env.DB, database.PlatformMigrations(), database.PlatformTable)
				if err == nil && ok {
					ok, err = database.AtHead(ctx, env.DB, env.Module.Migrations, database.ModuleTable)
				}
				if err != nil {
					return err
				}
				if !ok {
					return errors.New("not at head: run `uberservice migrate`")
				}
				return nil
			}},
			{Name: "bus", Check: func(context.Context) error {
				if !env.Events.Running() {
					return errors.New("event consumers are not running")
				}
				return nil
			}},
		}
	})
	if env.Events == nil {
		return
	}
	env.HTTP.GET("/ops/dead-letters", func(c echo.Context) error {
		items, err := env.Events.DeadLetters(c.Request().Context())
		if err != nil {
			return err
		}
		return web.List(c, items)
	})
	env.HTTP.POST("/ops/dead-letters/:id/replay", func(c echo.Context) error {
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil {
			return problem.ErrNotFound.WithDetail("no dead letter %q", c.Param("id"))
		}
		switch err := env.Events.Replay(c.Request().Context(), id); {
		case errors.Is(err, messaging.ErrNoDeadLetter):
			return problem.ErrNotFound.WithDetail("no dead letter %d", id)
		case err != nil:
			return problem.ErrConflict.WithDetail("%v", err)
		}
		return c.JSON(http.StatusOK, map[string]any{"replayed": id})
	})
}

// Addr returns the address module listens on, or "" when it is not running here.
func (s *System) Addr(module string) string {
	for _, r := range s.modules {
		if r.env.Module.Name == module {
			return r.listener.Addr().String()
		}
	}
	return ""
}

// Stop stops the system gracefully within the configured bound: it stops
// accepting requests and finishes those in flight, flushes the outbox relays,
// lets event handlers finish, sends what mail is due, and closes the pools.
func (s *System) Stop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	var (
		errs []error
		mu   sync.Mutex
		wg   sync.WaitGroup
	)
	for _, r := range s.modules {
		if r.server != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := r.server.Shutdown(ctx); err != nil {
					mu.Lock()
					defer mu.Unlock()
					errs = append(errs, fmt.Errorf("module %s: http shutdown: %w", r.env.Module.Name, err))
				}
			}()
		} else if r.listener != nil {
			_ = r.listener.Close()
		}
	}
	wg.Wait()
	// Relays and mailers make a last pass; consumers are still subscribed so the
	// in-process bus can deliver what the relays flush.
	if s.cancel != nil {
		s.cancel()
	}
	done := make(chan struct{})
	go func() { s.workers.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, errors.New("background workers did not stop in time"))
	}
	for _, r := range s.modules {
		if r.env.Events != nil {
			if err := r.env.Events.Close(); err != nil {
				errs = append(errs, fmt.Errorf("module %s: close consumers: %w", r.env.Module.Name, err))
			}
		}
	}
	if s.bus != nil && s.ownBus {
		// A broker that is down cannot be said goodbye to; nothing is lost by
		// that (unsent events wait in the outboxes), so it is no failed stop.
		if err := s.bus.Close(); err != nil {
			s.log.Warn("closing the bus", "bus", s.bus.Name(), "error", err)
		}
	}
	for _, r := range s.modules {
		if r.env.DB != nil {
			if err := r.env.DB.Close(); err != nil {
				errs = append(errs, fmt.Errorf("module %s: close database: %w", r.env.Module.Name, err))
			}
		}
	}
	s.log.Info("stopped")
	return errors.Join(errs...)
}

// checkTopology refuses, before anything starts, a configuration that cannot
// work: a started module that calls a gateway whose module is neither started
// here nor given a peer URL, or events that would have to cross processes on
// the in-process bus, where they would silently be lost. Every problem found is
// reported at once.
func checkTopology(all, selected []Module, peers map[string]string, localBus bool) error {
	here := map[string]bool{}
	for _, m := range selected {
		here[m.Name] = true
	}
	var problems []string
	for _, m := range selected {
		for _, dep := range m.Uses {
			if !here[dep] && peers[dep] == "" {
				problems = append(problems, fmt.Sprintf(
					"module %s needs the %s gateway, but %s is neither started here nor given a peer URL (--peer %s=URL)",
					m.Name, dep, dep, dep))
			}
		}
		for _, producer := range producers(m.Consumes) {
			if localBus && !here[producer] {
				problems = append(problems, fmt.Sprintf(
					"module %s consumes %s events, but %s is not started in this process and the in-process bus cannot carry events between processes: start them together, or choose a broker with --bus",
					m.Name, producer, producer))
			}
		}
	}
	for _, m := range all {
		if !localBus || here[m.Name] || peers[m.Name] == "" {
			continue
		}
		for _, producer := range producers(m.Consumes) {
			if here[producer] {
				problems = append(problems, fmt.Sprintf(
					"module %s runs elsewhere (--peer %s) and consumes %s events, which the in-process bus cannot carry to it: start them together, or choose a broker with --bus",
					m.Name, m.Name, producer))
			}
		}
	}
	if len(problems) > 0 {
		return usagef("this configuration cannot work:\n  - %s", strings.Join(problems, "\n  - "))
	}
	return nil
}

// unhandled lists the topics of declared that are not among handled.
func unhandled(declared, handled []string) []string {
	var out []string
	for _, t := range declared {
		if !slices.Contains(handled, t) {
			out = append(out, t)
		}
	}
	return out
}

// producers lists the contexts whose topics are among topics, in order.
func producers(topics []string) []string {
	var out []string
	for _, t := range topics {
		ctx, _, _ := strings.Cut(t, ".")
		if !slices.Contains(out, ctx) {
			out = append(out, ctx)
		}
	}
	return out
}

// initOrder orders modules so that each comes after the local modules whose
// gateways it uses.
func initOrder(mods []Module) ([]Module, error) {
	byName := map[string]Module{}
	for _, m := range mods {
		byName[m.Name] = m
	}
	var out []Module
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(m Module, path []string) error
	visit = func(m Module, path []string) error {
		switch state[m.Name] {
		case 1:
			return usagef("modules depend on each other in a cycle: %s", strings.Join(append(path, m.Name), " -> "))
		case 2:
			return nil
		}
		state[m.Name] = 1
		deps := slices.Clone(m.Uses)
		sort.Strings(deps)
		for _, dep := range deps {
			if d, ok := byName[dep]; ok {
				if err := visit(d, append(path, m.Name)); err != nil {
					return err
				}
			}
		}
		state[m.Name] = 2
		out = append(out, m)
		return nil
	}
	for _, m := range mods {
		if err := visit(m, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Local returns the in-process implementation of gateway name, when its module
// runs here. Contract tests use it to hold the local and the HTTP
// implementations to the same suite.
func (s *System) Local(name string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	impl, ok := s.local[name]
	return impl, ok
}

// Bus is the system's event transport.
func (s *System) Bus() messaging.Bus { return s.bus }
