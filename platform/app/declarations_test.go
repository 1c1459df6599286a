package app_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/contract"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/problem"
)

var schema = fstest.MapFS{"0001_t.up.sql": {Data: []byte("CREATE TABLE t (id int);")}}

type declared struct{}

func (declared) Topic() string { return "alpha.declared.v1" }

type undeclared struct{}

func (undeclared) Topic() string { return "alpha.undeclared.v1" }

// A module publishes only what it declares: publishing another topic fails
// the transaction at the call, and nothing reaches the outbox.
func TestPublishingAnUndeclaredTopicFails(t *testing.T) {
	t.Parallel()
	alpha := app.Module{Name: "alpha", Migrations: schema, Publishes: []string{declared{}.Topic()},
		Init: func(_ context.Context, env *app.Env) error {
			publish := func(e messaging.Event) echo.HandlerFunc {
				return func(c echo.Context) error {
					ctx := c.Request().Context()
					if err := env.DB.Transact(ctx, func(tx *gorm.DB) error { return env.Outbox.Publish(ctx, tx, e) }); err != nil {
						return err
					}
					return c.NoContent(http.StatusNoContent)
				}
			}
			env.HTTP.POST("/v1/declared", publish(declared{}))
			env.HTTP.POST("/v1/undeclared", publish(undeclared{}))
			return nil
		}}
	sys := apptest.Start(t, []app.Module{alpha}, app.Config{})
	ann := sys.Person(t, "ann", identity.Customer)
	apptest.Do(t, http.MethodPost, sys.URL("alpha")+"/v1/declared", nil, ann...).Expect(t, http.StatusNoContent)
	apptest.Do(t, http.MethodPost, sys.URL("alpha")+"/v1/undeclared", nil, ann...).ExpectProblem(t, http.StatusInternalServerError, "internal")
	var topics []string
	if err := sys.Schema(t, "alpha").Raw("SELECT topic FROM outbox").Scan(&topics).Error; err != nil {
		t.Fatal(err)
	}
	for _, topic := range topics {
		if topic != (declared{}).Topic() {
			t.Errorf("the outbox holds %s, which alpha does not declare", topic)
		}
	}
}

// A module that handles a topic it does not declare, or declares one it
// does not handle, does not start.
func TestHandlersMustMatchConsumes(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct {
		consumes []string
		want     string
	}{
		"undeclared handler": {nil, "module beta handles [alpha.declared.v1] without declaring them in Consumes"},
		"handlerless topic":  {[]string{declared{}.Topic(), undeclared{}.Topic()}, "module beta declares it consumes [alpha.undeclared.v1] but registers no handler"},
	} {
		t.Run(name, func(t *testing.T) {
			beta := app.Module{Name: "beta", Migrations: schema, Consumes: c.consumes,
				Init: func(_ context.Context, env *app.Env) error {
					messaging.Handle(env.Events, func(context.Context, *gorm.DB, declared) error { return nil })
					return nil
				}}
			_, err := app.Start(t.Context(), []app.Module{beta}, app.Config{
				DatabaseURL: apptest.FreshDatabase(t), Migrate: true, Bus: messaging.NewInProcess(apptest.Logger(t)),
				Listen: map[string]string{"beta": "127.0.0.1:0"}, Log: apptest.Logger(t),
			})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("start: %v, want %q", err, c.want)
			}
		})
	}
}

// pinger is a gateway of one method, for the tests of dependencies.
type pinger interface {
	Ping(ctx context.Context, id uuid.UUID) (pong, error)
}

type pong struct {
	ID uuid.UUID `json:"id"`
}

type pingClient struct{ c contract.Caller }

func (p pingClient) Ping(ctx context.Context, id uuid.UUID) (pong, error) {
	return ping.Call(ctx, p.c, id)
}

var (
	ping        = contract.Method("Ping", pinger.Ping, "GET /gateway/pinger/v1/pings/{id}").Idempotent()
	pingGateway = contract.New("pinger", func(c contract.Caller) pinger { return pingClient{c} }, ping)
)

// A gateway declared Optional may be missing: the module starts and every
// call answers unavailable. A required one that is missing is refused
// before anything starts.
func TestAnOptionalGatewayMayBeMissing(t *testing.T) {
	t.Parallel()
	var got pinger
	caller := func(uses []app.Dependency) app.Module {
		return app.Module{Name: "caller", Uses: uses, Init: func(_ context.Context, env *app.Env) (err error) {
			got, err = app.Resolve(env, pingGateway)
			return err
		}}
	}
	pingerModule := app.Module{Name: "pinger", Init: func(context.Context, *app.Env) error { return nil }}

	apptest.Start(t, []app.Module{caller(app.Deps(app.Optional(pingGateway))), pingerModule}, app.Config{Modules: []string{"caller"}})
	if _, err := got.Ping(t.Context(), uuid.New()); !errors.Is(err, problem.ErrUnavailable) {
		t.Fatalf("a call of a missing optional gateway: %v, want unavailable", err)
	}

	_, err := app.Start(t.Context(), []app.Module{caller(app.Deps(pingGateway)), pingerModule},
		app.Config{Modules: []string{"caller"}, Log: apptest.Logger(t)})
	var usage *app.UsageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "module caller needs the pinger gateway") {
		t.Fatalf("start without a required gateway: %v, want a UsageError naming it", err)
	}
}
