package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/uberservice/uberservice/platform/contract"

	"github.com/uberservice/uberservice/platform/idempotency"
	"github.com/uberservice/uberservice/platform/mail"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/metrics"
	"github.com/uberservice/uberservice/platform/tracing/otlp"
	"github.com/uberservice/uberservice/platform/web"
)

// System is a running set of modules.
type System struct {
	cfg       Config
	log       *slog.Logger
	all       []Module   // every module of the binary, started here or not
	modules   []*running // the selected modules, each after those whose gateways it uses
	transport messaging.Transport
	bus       messaging.Bus
	// runCtx is the context of what runs until Stop: the workers and the
	// consumers' retries.
	runCtx  context.Context
	workers sync.WaitGroup
	tracing *otlp.Tracing // nil until startTracing: every provider a no-op one

	// undo holds, in the order the phases ran, what stops each again.
	undo []func(ctx context.Context) error
	// inspecting is set by Inspect: Init runs for its declarations alone,
	// with every gateway it resolves answering unavailable.
	inspecting bool

	mu       sync.Mutex
	local    map[string]any // gateway name -> local implementation
	resolved []string       // gateway names Resolve was asked for

	// methods are, by gateway, the methods Provide saw while inspecting.
	methods map[string][]contract.Description

	metrics *metrics.Registry // served on every module's internal server
	// instance names this process in its metrics, traces, logs, responses
	// and events (see identity.go).
	instance string
}

type running struct {
	env *Env
	// public serves env.HTTP, internal env.Internal.
	public, internal endpoint
}

// endpoint is one of a module's two servers.
type endpoint struct {
	listener net.Listener
	server   *http.Server
}

// A phase is one step of bringing a system up. It registers, with onStop,
// how to take back what it did; Stop and a failed start run those in reverse.
type phase func(s *System, ctx context.Context) error

// Start starts the configured modules and returns once every one of them is
// serving. Nothing is left running when it fails.
func Start(ctx context.Context, all []Module, cfg Config) (*System, error) {
	s, err := newSystem(all, cfg, true)
	if err != nil {
		return nil, err
	}
	metrics.SetRecording(!cfg.NoMetrics) // the process's hooks: one switch for all its systems
	err = s.run(ctx,
		(*System).startTracing,  // stopped last: flushes what the others record
		(*System).listen,        // a port in use fails before anything starts
		(*System).verifyPeople,  // as does an identity provider out of reach
		(*System).openDatabases, // and migrates them, when configured to
		(*System).openBus,
		(*System).initModules,
		(*System).provision, // every consumer group, before anything is published
		(*System).fork,      // a shadow's schema, from the live one's, once
		(*System).subscribe, // every consumer, before any relay publishes
		(*System).startWorkers,
		(*System).serve,
	)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// newSystem checks cfg against the modules, before anything is started: the
// names, the bus, and, when topology is set, that every started module can
// reach what it needs (see checkTopology).
func newSystem(all []Module, cfg Config, topology bool) (*System, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	instance := uuid.NewString()
	cfg.Log = identifiedLog(cfg.Log, instance)
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
	if err := checkShadow(&cfg, selected); err != nil {
		return nil, err
	}
	s := &System{cfg: cfg, log: cfg.Log, all: all, local: map[string]any{}, instance: instance}
	s.metrics = metrics.NewRegistry(cfg.Log, s.instance, cfg.Shadow)
	runCtx, cancel := context.WithCancel(context.Background())
	s.runCtx = runCtx
	s.onStop(func(context.Context) error { cancel(); return nil })
	if cfg.Bus == nil {
		if s.transport, err = messaging.Lookup(cfg.BusURL); err != nil {
			return nil, &UsageError{err.Error()}
		}
	}
	if topology {
		// A bus the caller brings is vouched for: it reaches every consumer.
		localBus := cfg.Bus == nil && !s.transport.CrossProcess()
		if err := checkTopology(all, selected, cfg.Peers, localBus); err != nil {
			return nil, err
		}
	}
	ordered, err := initOrder(selected)
	if err != nil {
		return nil, err
	}
	for _, m := range ordered {
		log := cfg.Log.With("module", m.Name)
		s.modules = append(s.modules, &running{env: &Env{Module: m, Log: log, sys: s}})
	}
	return s, nil
}

// run runs phases in order. When one fails, what the earlier ones did is
// undone and its error returned.
func (s *System) run(ctx context.Context, phases ...phase) error {
	for _, p := range phases {
		if err := p(s, ctx); err != nil {
			_ = s.Stop(context.WithoutCancel(ctx))
			return err
		}
	}
	return nil
}

// onStop registers how to undo what a phase did.
func (s *System) onStop(f func(ctx context.Context) error) { s.undo = append(s.undo, f) }

// listen binds every module's two ports: public and internal.
func (s *System) listen(context.Context) error {
	for _, r := range s.modules {
		m := r.env.Module
		for _, l := range []struct {
			e    *endpoint
			addr string
			port int
			flag string
		}{
			{&r.public, s.cfg.Listen[m.Name], m.Port, "--listen"},
			{&r.internal, s.cfg.InternalListen[m.Name], m.internalPort(), "--internal-listen"},
		} {
			addr := l.addr
			if addr == "" {
				addr = ":" + strconv.Itoa(l.port)
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("module %s cannot listen on %s (%s): %w", m.Name, addr, l.flag, err)
			}
			l.e.listener = ln
			s.onStop(func(context.Context) error {
				if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
					return fmt.Errorf("module %s: close listener: %w", m.Name, err)
				}
				return nil
			})
		}
	}
	return nil
}

// openBus opens the configured bus, unless the caller brought one.
func (s *System) openBus(ctx context.Context) error {
	if s.cfg.Bus != nil {
		s.bus = s.cfg.Bus
		return nil
	}
	bus, err := s.transport.Open(ctx, messaging.Options{DatabaseURL: s.cfg.DatabaseURL, Namespace: s.cfg.BusNamespace, Log: s.log})
	if err != nil {
		return fmt.Errorf("open the bus: %w", err)
	}
	s.bus = bus
	s.onStop(func(context.Context) error {
		// A broker that is down cannot be said goodbye to; nothing is lost by
		// that (unsent events wait in the outboxes), so it is no failed stop.
		if err := bus.Close(); err != nil {
			s.log.Warn("closing the bus", "bus", bus.Name(), "error", err)
		}
		return nil
	})
	return nil
}

// initModules builds every module, each after those whose gateways it uses,
// and holds what it registers to what it declares.
func (s *System) initModules(ctx context.Context) error {
	for _, r := range s.modules {
		env, m := r.env, r.env.Module
		env.HTTP = web.New(m.Name, env.Log)
		env.Internal = web.New(m.Name, env.Log.With("api", "internal"))
		s.shadowPublic(env)
		if err := s.instrument(env); err != nil {
			return err
		}
		// Here rather than in web, which the gateways' bindings import: the
		// key's rule lives with the store, and that is no gateway's business.
		env.HTTP.Use(s.publicAPI(env), idempotency.CheckKeys)
		env.Internal.Use(idempotency.CheckKeys)
		if env.DB != nil {
			env.Events = messaging.NewConsumers(m.Name, env.DB, s.cfg.Retry, env.Log)
			env.Events.SetTracerProvider(r.tracer())
			env.Outbox = messaging.NewOutbox(m.Name, m.Publishes).WithVersions(messaging.NewVersions(m.Payloads))
		}
		s.identify(env)
		if err := m.Init(ctx, env); err != nil {
			return fmt.Errorf("module %s: init: %w", m.Name, err)
		}
		if err := checkHandlers(m, env.Events); err != nil {
			return err
		}
		mountOps(env)
	}
	return nil
}

// checkHandlers holds the handlers a module registered to its Consumes, both
// ways: a handler for an undeclared topic would consume what no deployment
// provisions, and a declared topic without a handler would have a consumer
// group that collects events nobody takes.
func checkHandlers(m Module, events *messaging.Consumers) error {
	var handled []string
	if events != nil {
		handled = events.Topics()
	}
	if extra := missing(handled, m.Consumes); len(extra) > 0 {
		return fmt.Errorf("module %s handles %v without declaring them in Consumes", m.Name, extra)
	}
	if absent := missing(m.Consumes, handled); len(absent) > 0 {
		return fmt.Errorf("module %s declares it consumes %v but registers no handler for them", m.Name, absent)
	}
	return nil
}

// consumes reports whether a module of the system consumes events.
func (s *System) consumes() bool {
	for _, r := range s.modules {
		if r.env.Module.Migrations != nil && len(r.env.Module.Consumes) > 0 {
			return true
		}
	}
	return false
}

// provision creates the consumer group of every module that consumes, for
// the topics it declares. Subscribing would create them too, but a broker
// that refuses a group's state then fails here, within ctx, instead of
// leaving a subscription stuck; and `migrate` creates them with no
// subscription at all.
func (s *System) provision(ctx context.Context) error {
	for _, r := range s.modules {
		m := r.env.Module
		if m.Migrations == nil || len(m.Consumes) == 0 {
			continue
		}
		if err := s.bus.Provision(ctx, s.stored(m).Name, m.Consumes); err != nil {
			return fmt.Errorf("module %s: %w", m.Name, err)
		}
		r.env.Log.Info("provisioned the consumer group", "bus", s.bus.Name(), "topics", m.Consumes)
	}
	return nil
}

// subscribe starts every module's consumers.
func (s *System) subscribe(context.Context) error {
	for _, r := range s.modules {
		events := r.env.Events
		if events == nil {
			continue
		}
		sub, err := s.bus.Subscriber(s.stored(r.env.Module).Name)
		if err != nil {
			return fmt.Errorf("module %s: subscribe: %w", r.env.Module.Name, err)
		}
		if err := events.Start(s.runCtx, sub); err != nil {
			return fmt.Errorf("module %s: start consumers: %w", r.env.Module.Name, err)
		}
		s.onStop(func(context.Context) error {
			if err := events.Close(); err != nil {
				return fmt.Errorf("module %s: close consumers: %w", r.env.Module.Name, err)
			}
			return nil
		})
	}
	return nil
}

// startWorkers starts every module's outbox relay, mail dispatcher and
// background work. Stopped, the relays and mailers make a last pass while
// the consumers are still subscribed, so the in-process bus can deliver what
// the relays flush.
func (s *System) startWorkers(context.Context) error {
	ctx, cancel := context.WithCancel(s.runCtx)
	for _, r := range s.modules {
		if db := r.env.DB; db != nil {
			relay := messaging.NewRelay(db, s.bus.Publisher(), r.env.Module.Name, r.env.Log).
				WithVersions(messaging.NewVersions(r.env.Module.Payloads))
			relay.SetTracerProvider(r.tracer())
			mailer := mail.NewDispatcher(r.env.Module.Name, db, s.cfg.Mail, r.env.Log)
			if s.cfg.Shadow == "" { // a shadow publishes nothing
				s.goWorker(func() { relay.Run(ctx) })
			}
			s.goWorker(func() { mailer.Run(ctx) })
		}
		for _, run := range r.env.background {
			s.goWorker(func() { run(ctx) })
		}
	}
	s.onStop(func(stop context.Context) error {
		cancel()
		done := make(chan struct{})
		go func() { s.workers.Wait(); close(done) }()
		select {
		case <-done:
			return nil
		case <-stop.Done():
			return errors.New("background workers did not stop in time")
		}
	})
	return nil
}

func (s *System) goWorker(f func()) {
	s.workers.Add(1)
	go func() { defer s.workers.Done(); f() }()
}

// serve serves every module's two HTTP servers. Stopped, the servers stop
// accepting and finish the requests in flight, all at once.
func (s *System) serve(context.Context) error {
	for _, r := range s.modules {
		r.public.server = web.NewServer(web.Traced(r.env.HTTP, r.tracer()))
		r.internal.server = web.NewServer(web.Traced(r.env.Internal, r.tracer()))
		for _, e := range []endpoint{r.public, r.internal} {
			go func() {
				if err := e.server.Serve(e.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
					r.env.Log.Error("server stopped", "error", err, "addr", e.listener.Addr().String())
				}
			}()
		}
		r.env.Log.Info("module started", "addr", r.public.listener.Addr().String(),
			"internal_addr", r.internal.listener.Addr().String(), "bus", s.bus.Name())
	}
	s.onStop(func(ctx context.Context) error {
		errs := make([]error, 2*len(s.modules))
		var wg sync.WaitGroup
		for i, r := range s.modules {
			for j, e := range []endpoint{r.public, r.internal} {
				wg.Go(func() {
					if err := e.server.Shutdown(ctx); err != nil {
						errs[2*i+j] = fmt.Errorf("module %s: http shutdown: %w", r.env.Module.Name, err)
					}
				})
			}
		}
		wg.Wait()
		return errors.Join(errs...)
	})
	return nil
}

// Stop stops the system gracefully within the configured bound, undoing
// what Start did in reverse: it stops accepting requests and finishes those
// in flight, flushes the outbox relays, lets event handlers finish, sends
// what mail is due, closes the bus and the pools.
func (s *System) Stop(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	for i := len(s.undo) - 1; i >= 0; i-- {
		errs = append(errs, s.undo[i](ctx))
	}
	s.undo = nil
	return errors.Join(errs...)
}

// Addr returns the address of module's public API, or "" when it is not
// running here.
func (s *System) Addr(module string) string {
	return s.addr(module, func(r *running) endpoint { return r.public })
}

// InternalAddr returns the address of module's internal API (its gateway and
// ops routes), or "" when it is not running here.
func (s *System) InternalAddr(module string) string {
	return s.addr(module, func(r *running) endpoint { return r.internal })
}

func (s *System) addr(module string, which func(*running) endpoint) string {
	for _, r := range s.modules {
		if e := which(r); r.env.Module.Name == module && e.listener != nil {
			return e.listener.Addr().String()
		}
	}
	return ""
}

func (s *System) provide(gateway string, impl any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.local[gateway] = impl
}

func (s *System) lookup(gateway string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resolved = append(s.resolved, gateway)
	impl, ok := s.local[gateway]
	return impl, ok
}

// Local returns the in-process implementation of gateway name, when its module
// runs here. Contract tests use it (through apptest.Local) to hold the local
// and the HTTP implementations to the same suite.
func (s *System) Local(name string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	impl, ok := s.local[name]
	return impl, ok
}

// Bus is the system's event transport.
func (s *System) Bus() messaging.Bus { return s.bus }
