// Package app is the runtime that hosts modules: a module declares itself as a
// Module value and the runtime gives it a schema and pool, a migrated database,
// an HTTP server on its own port, a bus, a logger and its resolved gateways, and
// starts and stops it in order.
//
// Nothing in a module says whether its peers run in this process or elsewhere:
// Resolve gives a module the local implementation of a gateway when its module
// is started here, and its HTTP client otherwise.
package app

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/contract"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/fitness"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/messaging"
)

// Module declares a bounded-context module to the runtime. Everything the
// runtime, `uberservice modules`, the deployment renderer and the boundary
// test know of a module comes from here.
type Module struct {
	// Name is the module's name, its schema and the name of the gateway it
	// provides, if any.
	Name string
	// Port is the default port of the module's public API.
	Port int
	// InternalPort is the default port of the module's internal API: its
	// gateway's server binding and the ops routes, for other modules and
	// operators, never for the public. 0 means Port+1000.
	InternalPort int
	// Migrations are the module's own SQL migrations; nil for a module that keeps
	// no data (it then gets no database at all).
	Migrations fs.FS
	// Uses lists the gateways the module calls: Deps(accounts.Gateway,
	// Optional(im.Gateway)).
	Uses []Dependency
	// Publishes lists the topics the module publishes. Publishing any other
	// is an error at the call.
	Publishes []string
	// Payloads are the events of Publishes, one value of each type
	// (events.Payloads): `uberservice modules --format markdown` documents
	// each topic's fields from them.
	Payloads []messaging.Event
	// Consumes lists the topics the module handles: Topics(events.X{}, ...).
	// Init must register a handler for each of them and for no other.
	Consumes []string
	// Observes says the module reads every module's internal API as an
	// operator does (the console): deployments give it a peer URL for every
	// module, not only the gateways it Uses, and admit it on every module's
	// internal port. It calls no gateway for that; what it may do there is
	// what the operator's token it forwards allows.
	Observes bool
	// Fitness are the module's effects as queries over its schema, by which
	// `uberservice compare` holds a shadow of it (run --shadow) to the live
	// module: see package fitness. None: the module cannot be compared.
	Fitness []fitness.Effect
	// Init builds the module: it mounts routes on env.HTTP, registers event
	// handlers on env.Events, provides its gateway and resolves the ones it uses.
	// It must not start goroutines: long-running work goes to env.Background.
	Init func(ctx context.Context, env *Env) error
}

// Dependency is a gateway a module calls, as Module.Uses lists it.
type Dependency struct {
	Gateway string
	// Optional says the module works without it: when the gateway's module
	// is neither started here nor given a peer, the module still starts and
	// every call of the gateway answers unavailable.
	Optional bool
}

// Gateway is a gateway as a dependency: a gateway package's Gateway value,
// or one that Optional marks.
type Gateway interface{ Name() string }

// Deps lists the gateways a module calls, for Module.Uses. Naming the gateway
// values, rather than their names, makes a typo a compile error.
func Deps(gateways ...Gateway) []Dependency {
	out := make([]Dependency, len(gateways))
	for i, g := range gateways {
		_, opt := g.(optional)
		out[i] = Dependency{Gateway: g.Name(), Optional: opt}
	}
	return out
}

// Optional marks g as a gateway the module can live without (see Dependency).
func Optional(g Gateway) Gateway { return optional{g} }

type optional struct{ Gateway }

// Topics lists the topics of events, for Module.Consumes: naming the event
// types of a gateway's events package, a consumer cannot misspell a topic.
func Topics(events ...messaging.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Topic()
	}
	return out
}

// internalPort is m's default internal port.
func (m Module) internalPort() int {
	if m.InternalPort != 0 {
		return m.InternalPort
	}
	return m.Port + 1000
}

// uses returns m's declaration of gateway, if it declares one.
func (m Module) uses(gateway string) (Dependency, bool) {
	i := slices.IndexFunc(m.Uses, func(d Dependency) bool { return d.Gateway == gateway })
	if i < 0 {
		return Dependency{}, false
	}
	return m.Uses[i], true
}

// Env is what the runtime hands a module.
type Env struct {
	Module Module
	Log    *slog.Logger
	DB     *database.DB // nil when Migrations is nil
	HTTP   *echo.Echo   // the module's public API, on its port
	// Internal is the module's internal API, on its internal port: its
	// gateway's binding (Provide mounts it) and the ops routes. Only other
	// modules and operators reach it.
	Internal *echo.Echo
	Events   *messaging.Consumers // nil when Migrations is nil
	// Outbox publishes the module's events in its transactions, the topics
	// of Module.Publishes only; nil when Migrations is nil.
	Outbox *messaging.Outbox
	// People verifies the tokens of the people who call the public API
	// (its Middleware lets them in); nil when Config.Identity names no
	// issuer.
	People *identity.Verifier

	sys        *System
	background []func(ctx context.Context)
}

// Background registers work the module does for as long as it runs (a loop
// that resumes unfinished sagas, say). Init only registers it: the runtime
// starts it once every module serves and every consumer is subscribed, cancels
// its context at shutdown and waits for it to return.
func (e *Env) Background(run func(ctx context.Context)) {
	e.background = append(e.background, run)
}

// Provide registers impl as env's module's implementation of g, for modules
// in this process, and mounts g's server binding on the module's internal
// server, for modules elsewhere: never on its public one.
func Provide[T any](env *Env, g contract.Gateway[T], impl T) {
	if env.sys.cfg.Shadow != "" {
		return // nobody may call a shadow (see shadow.go)
	}
	env.sys.provide(g.Name(), impl)
	env.sys.describe(g.Name(), g.Methods)
	g.Mount(env.Internal, impl, env.sys.callers(g.Name()))
}

// Resolve returns g as env's module reaches it: the local implementation when
// g's module runs in this process, an HTTP client of its peer otherwise, and
// for an Optional gateway that is neither, one whose every call answers
// unavailable. A gateway the module does not declare in Uses is an error.
func Resolve[T any](env *Env, g contract.Gateway[T]) (T, error) {
	var zero T
	dep, ok := env.Module.uses(g.Name())
	if !ok {
		return zero, fmt.Errorf("app: module %s uses gateway %s without declaring it in Uses", env.Module.Name, g.Name())
	}
	if impl, ok := env.sys.lookup(g.Name()); ok {
		t, ok := impl.(T)
		if !ok {
			return zero, fmt.Errorf("app: gateway %s is provided as %T", g.Name(), impl)
		}
		return g.LocalTraced(t, env.Module.Name, env.sys.tracing.Provider(g.Name())), nil
	}
	if url, ok := env.sys.cfg.Peers[g.Name()]; ok {
		opts := env.sys.cfg.Client
		if opts.Log == nil {
			opts.Log = env.Log.With("peer", g.Name())
		}
		opts.Module, opts.Gateway = env.Module.Name, g.Name() // its metrics' labels
		var err error
		if opts.Credentials, err = env.credentials(g.Name()); err != nil {
			return zero, err
		}
		c, err := env.peerClient(url, opts)
		if err != nil {
			return zero, err
		}
		return g.Client(c), nil
	}
	if dep.Optional || env.sys.inspecting {
		if !env.sys.inspecting {
			env.Log.Info("optional gateway not deployed: its calls answer unavailable", "gateway", g.Name())
		}
		return g.Unavailable("is neither started in this process nor given a peer (--peer " + g.Name() + "=URL)"), nil
	}
	return zero, fmt.Errorf("app: module %s needs gateway %s, which is neither started here nor given a peer URL (--peer %s=URL)",
		env.Module.Name, g.Name(), g.Name())
}
