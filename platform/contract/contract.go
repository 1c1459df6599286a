// Package contract describes a gateway once, as a table of its methods, and
// derives both sides of the wire from that table: the HTTP server binding the
// providing module mounts, and the calls its HTTP client makes for a module
// that runs elsewhere.
//
// A gateway package is then its interface, its DTOs, its errors, its events
// and one Gateway value:
//
//	var Gateway = contract.New(Name, func(c contract.Caller) Accounts { return client{c} },
//		get, getMany, debit, credit)
//
//	var get = contract.Method("Get", Accounts.Get, "GET /gateway/accounts/v1/accounts/{id}").
//		Idempotent().NotFound(ErrAccountNotFound)
//
// and a client whose methods are one line each, get.Call(ctx, c.caller, id):
// Go has no way to make an interface's implementation out of a table, but
// everything a call does (the route, the encoding, retry safety, errors) is
// the table's.
//
// Each method is a method expression of the gateway's interface (or a function
// of the same shape adapting it to its wire form), a route, and whether a call
// is safe to send again when it is unknown whether the first one arrived. A
// route is "METHOD /path". A path with one {param} carries the method's input,
// which is then a uuid.UUID; otherwise the input travels as a JSON body. The
// answer is JSON, or 204 No Content for an Action.
//
// Every call is a client span "<gateway>.<Method>" in the caller's trace
// (package tracing) and counts in the metrics of the caller (package
// metrics). The package is light to import: it brings in Echo, the HTTP
// client, the problem type, the metrics' vectors and the OpenTelemetry API,
// nothing of the runtime (no database, no bus, no tracing SDK).
package contract

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"

	"github.com/uberservice/uberservice/platform/metrics"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/tracing"
	"github.com/uberservice/uberservice/platform/web"
)

// Caller sends one call to a peer: an *httpclient.Client, or a stand-in that
// answers every call unavailable. idempotent says the call may be sent again
// after a failure that leaves unknown whether it took effect.
type Caller interface {
	Call(ctx context.Context, method, path string, in, out any, idempotent bool) error
}

// Gateway is one context's contract as the runtime serves and reaches it.
type Gateway[T any] struct {
	name    string
	client  func(Caller) T
	methods []Endpoint[T]
}

// Endpoint is one method of a gateway: a Method or an Action.
type Endpoint[T any] interface {
	route() string
	describe() Description
	mount(e *echo.Echo, impl T, mw []echo.MiddlewareFunc)
}

// New describes the gateway called name (its module's name) with methods.
// client makes the gateway's interface out of a Caller; its methods call the
// table's. Two methods on one route are a programming error: New panics.
func New[T any](name string, client func(Caller) T, methods ...Endpoint[T]) Gateway[T] {
	seen := map[string]bool{}
	for _, m := range methods {
		if seen[m.route()] {
			panic(fmt.Sprintf("contract: gateway %s has two methods on %s", name, m.route()))
		}
		seen[m.route()] = true
	}
	return Gateway[T]{name: name, client: client, methods: methods}
}

// Name is the gateway's name, which is its module's.
func (g Gateway[T]) Name() string { return g.name }

// Routes are the routes of the gateway's methods, in the table's order.
func (g Gateway[T]) Routes() []string {
	out := make([]string, len(g.methods))
	for i, m := range g.methods {
		out[i] = m.route()
	}
	return out
}

// Mount binds impl to every route of the gateway on e, each behind mw (the
// runtime's check of who is calling).
func (g Gateway[T]) Mount(e *echo.Echo, impl T, mw ...echo.MiddlewareFunc) {
	for _, m := range g.methods {
		m.mount(e, impl, mw)
	}
}

// Client is the gateway of a peer that c reaches.
func (g Gateway[T]) Client(c Caller) T { return g.client(named{c, g.name}) }

// Local is impl as the module called caller reaches it in this process: each
// call is a Go call of impl's method through the table, with no encoding, and
// with a context that says who calls (CallingModule), as a call over HTTP
// says it with the caller's token.
func (g Gateway[T]) Local(impl T, caller string) T {
	return g.client(local[T]{gateway: g, impl: impl, caller: caller})
}

type local[T any] struct {
	gateway Gateway[T]
	impl    T
	caller  string
	tp      trace.TracerProvider // the provider's, for its side of the call; nil: untraced
}

// Call is never reached through the table: a method's Call serves a local
// gateway itself (see M.Call). A client method that bypassed its table would
// land here.
func (l local[T]) Call(_ context.Context, verb, path string, _, _ any, _ bool) error {
	return fmt.Errorf("contract: gateway %s: %s %s is no method of its table", l.gateway.name, verb, path)
}

type callingModuleKey struct{}

// WithCallingModule returns ctx saying that module makes the gateway call it
// carries. The runtime sets it, from the caller's token across processes and
// from the caller's declaration in one.
func WithCallingModule(ctx context.Context, module string) context.Context {
	return context.WithValue(ctx, callingModuleKey{}, module)
}

// CallingModule is the module that makes the gateway call ctx carries, ""
// when none is known (a test calling an implementation directly). A provider
// scopes what a caller names to the caller with it: a reference one module
// gives a movement is no other module's to take.
func CallingModule(ctx context.Context) string {
	m, _ := ctx.Value(callingModuleKey{}).(string)
	return m
}

// Unavailable is the gateway of a peer that is not deployed: every call fails
// at once as problem.ErrUnavailable, saying why. It is what a module gets for
// a gateway it can live without (app.Optional) when its module runs nowhere it
// knows of.
func (g Gateway[T]) Unavailable(why string) T {
	return g.client(unavailable{gateway: g.name, why: why})
}

type unavailable struct{ gateway, why string }

func (u unavailable) Call(_ context.Context, method, path string, _, _ any, _ bool) error {
	return problem.Unavailable(fmt.Errorf("%s %s: %s %s", method, path, u.gateway, u.why))
}

// M is one method of a gateway: what Method and Action return. Its modifiers
// return a changed copy, so a table is a list of expressions.
type M[T, In, Out any] struct {
	name       string
	verb       string
	path       string // as written, with its {param}
	param      string // "" when the input is the body
	before     string // the path before {param}
	after      string // the path after {param}
	serve      func(T, context.Context, In) (Out, error)
	idempotent func(In) bool // nil: never sent twice
	retry      Retry         // what idempotent says, for Describe
	notFound   *problem.Problem
	noContent  bool
	hedge      time.Duration // > 0: Hedged (hedge.go)
}

// Method describes the method called name (as the interface calls it), served
// by serve, on route ("GET /gateway/accounts/v1/accounts/{id}"). A call is
// sent once unless the method is declared Idempotent. An invalid route, or a
// path parameter for an input that is not a uuid.UUID, is a programming
// error: Method panics.
func Method[T, In, Out any](name string, serve func(T, context.Context, In) (Out, error), route string) M[T, In, Out] {
	verb, path, ok := strings.Cut(route, " ")
	if !ok || !strings.HasPrefix(path, "/") {
		panic(fmt.Sprintf("contract: %s: route %q is not \"METHOD /path\"", name, route))
	}
	m := M[T, In, Out]{name: name, verb: verb, path: path, serve: serve, notFound: problem.ErrNotFound, retry: RetryNever}
	if open := strings.Index(path, "{"); open >= 0 {
		end := strings.Index(path, "}")
		if end < open || strings.Count(path, "{") != 1 {
			panic(fmt.Sprintf("contract: %s: route %q must have at most one {param}", name, route))
		}
		var in In
		if _, isID := any(in).(uuid.UUID); !isID {
			panic(fmt.Sprintf("contract: %s: a path parameter carries a uuid.UUID, not a %T", name, in))
		}
		m.param, m.before, m.after = path[open+1:end], path[:open], path[end+1:]
	} else if verb == http.MethodGet {
		panic(fmt.Sprintf("contract: %s: a GET takes its input from the path, and %q has no {param}", name, route))
	}
	return m
}

// Action is a Method with no answer but its error: it answers 204 No Content.
func Action[T, In any](name string, serve func(T, context.Context, In) error, route string) M[T, In, struct{}] {
	m := Method(name, func(impl T, ctx context.Context, in In) (struct{}, error) {
		return struct{}{}, serve(impl, ctx, in)
	}, route)
	m.noContent = true
	return m
}

// Idempotent declares that a call may always be sent again: it changes
// nothing, or its input makes a second call the same as the first (an order
// id that a reservation is keyed by, say).
func (m M[T, In, Out]) Idempotent() M[T, In, Out] {
	m.idempotent = func(In) bool { return true }
	m.retry = RetryAlways
	return m
}

// IdempotentIf declares that a call may be sent again when safe says so of
// its input: a movement that carries a reference is applied once per
// reference, one without is not.
func (m M[T, In, Out]) IdempotentIf(safe func(In) bool) M[T, In, Out] {
	m.idempotent = safe
	m.retry = RetryIfInput
	return m
}

// NotFound sets the answer to a path parameter that is not an id: it names
// nothing, so it is the gateway's own "not found" (default problem.ErrNotFound).
func (m M[T, In, Out]) NotFound(p *problem.Problem) M[T, In, Out] {
	m.notFound = p
	return m
}

// Name is the method's name in the gateway's interface.
func (m M[T, In, Out]) Name() string { return m.name }

func (m M[T, In, Out]) route() string { return m.verb + " " + m.path }

// mount serves the method on e: the input from the path or the body, strictly
// decoded, then impl's answer as JSON (or 204), or its error, which the
// server's error handler writes as problem+json.
func (m M[T, In, Out]) mount(e *echo.Echo, impl T, mw []echo.MiddlewareFunc) {
	path := m.path
	if m.param != "" {
		path = m.before + ":" + m.param + m.after
	}
	e.Add(m.verb, path, func(c echo.Context) error {
		var in In
		if m.param != "" {
			id, err := uuid.Parse(c.Param(m.param))
			if err != nil {
				return m.notFound.WithDetail("%q is not a valid id", c.Param(m.param))
			}
			in = any(id).(In) // Method checked that In is a uuid.UUID
		} else if err := web.Bind(c, &in); err != nil {
			return err
		}
		out, err := m.serve(impl, c.Request().Context(), in)
		switch {
		case err != nil:
			return err
		case m.noContent:
			return c.NoContent(http.StatusNoContent)
		}
		return c.JSON(http.StatusOK, out)
	}, mw...)
}

// Call makes the call to the peer c reaches, with the retry safety the table
// declares.
func (m M[T, In, Out]) Call(ctx context.Context, c Caller, in In) (out Out, err error) {
	ctx, span := startCall(ctx, c, m.name)
	defer func() { tracing.End(span, err) }()
	if l, ok := c.(local[T]); ok {
		// In this process: a Go call of the method, saying who calls, with
		// no route to build and parse back.
		start := time.Now()
		ctx, served := l.startServe(ctx, m.route())
		out, err = m.serve(l.impl, WithCallingModule(ctx, l.caller), in)
		tracing.End(served, err)
		metrics.ObserveCall(l.caller, l.gateway.name, m.name, metrics.Outcome(err), start)
		return out, err
	}
	ctx = metrics.WithGatewayMethod(ctx, m.name) // the HTTP client's label
	path, body := m.path, any(in)
	if m.param != "" {
		path, body = m.before+any(in).(uuid.UUID).String()+m.after, nil
	}
	var into any = &out
	if m.noContent {
		into = nil
	}
	safe := m.idempotent != nil && m.idempotent(in)
	err = c.Call(m.withHedge(ctx, safe), m.verb, path, body, into, safe)
	return out, err
}
