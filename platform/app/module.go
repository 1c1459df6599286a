// Package app is the runtime that hosts modules: a module declares itself as a
// Module value and the runtime gives it a schema and pool, a migrated database,
// an HTTP server on its own port, a bus, a logger and its resolved gateways, and
// starts and stops it in order.
//
// Nothing in a module says whether its peers run in this process or elsewhere:
// a Gateway resolves to the peer's local implementation when the peer is started
// here and to its HTTP client otherwise.
package app

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/httpclient"
	"github.com/uberservice/uberservice/platform/messaging"
)

// Module declares a bounded-context module to the runtime.
type Module struct {
	// Name is the module's name, its schema and the name of the gateway it
	// provides, if any.
	Name string
	// Port is the default listen port.
	Port int
	// Migrations are the module's own SQL migrations; nil for a module that keeps
	// no data (it then gets no database at all).
	Migrations fs.FS
	// Uses lists the contexts whose gateways the module calls.
	Uses []string
	// Publishes lists the topics the module publishes.
	Publishes []string
	// Consumes lists the topics the module handles.
	Consumes []string
	// Init builds the module: it mounts routes on env.HTTP, registers event
	// handlers on env.Events, provides its gateway and resolves the ones it uses.
	// It must not start goroutines: long-running work goes to env.Background.
	Init func(ctx context.Context, env *Env) error
}

// Env is what the runtime hands a module.
type Env struct {
	Module Module
	Log    *slog.Logger
	DB     *database.DB         // nil when Migrations is nil
	HTTP   *echo.Echo           // the module's own server
	Events *messaging.Consumers // nil when Migrations is nil

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

// Gateway describes one context's contract to the runtime: how to mount its HTTP
// server binding on the providing module and how to build its HTTP client for a
// peer running elsewhere. Each gateway package declares one.
type Gateway[T any] struct {
	Name   string
	Client func(c *httpclient.Client) T
	Mount  func(e *echo.Echo, impl T)
}

// Provide registers the module's implementation of g, for modules in this
// process, and mounts its server binding, for modules elsewhere.
func (g Gateway[T]) Provide(env *Env, impl T) {
	env.sys.mu.Lock()
	env.sys.local[g.Name] = impl
	env.sys.mu.Unlock()
	g.Mount(env.HTTP, impl)
}

// Resolve returns the implementation of g for env's module: the local one when
// g's module runs in this process, an HTTP client to its peer otherwise.
func (g Gateway[T]) Resolve(env *Env) (T, error) {
	var zero T
	if !slices.Contains(env.Module.Uses, g.Name) {
		return zero, fmt.Errorf("app: module %s uses gateway %s without declaring it in Uses", env.Module.Name, g.Name)
	}
	env.sys.mu.Lock()
	impl, ok := env.sys.local[g.Name]
	env.sys.mu.Unlock()
	if ok {
		t, ok := impl.(T)
		if !ok {
			return zero, fmt.Errorf("app: gateway %s is provided as %T", g.Name, impl)
		}
		return t, nil
	}
	if url, ok := env.sys.cfg.Peers[g.Name]; ok {
		opts := env.sys.cfg.Client
		if opts.Log == nil {
			opts.Log = env.Log.With("peer", g.Name)
		}
		return g.Client(httpclient.New(url, opts)), nil
	}
	return zero, fmt.Errorf("app: module %s needs gateway %s, which is neither started here nor given a peer URL (--peer %s=URL)",
		env.Module.Name, g.Name, g.Name)
}
