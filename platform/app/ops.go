package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/page"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/web"
)

// mountOps adds what an operator asks of every module: /healthz and /readyz on
// both its servers (the orchestrator probes the public one, a peer may ask
// the internal one), and, for a module that consumes, its dead letters to
// list, a page at a time like every list, and replay, on the internal server
// only.
func mountOps(env *Env) {
	ready := func() []web.Check { return readiness(env) }
	web.MountHealth(env.HTTP, ready)
	web.MountHealth(env.Internal, ready)
	mountEffects(env)
	if env.Events == nil {
		return
	}
	operators := env.sys.operators()
	env.Internal.GET("/ops/dead-letters", func(c echo.Context) error {
		req, err := page.Parse(c.QueryParams())
		if err != nil {
			return err
		}
		p, err := env.Events.DeadLetters(c.Request().Context(), req)
		if err != nil {
			return err
		}
		return page.Write(c, p)
	}, operators)
	env.Internal.POST("/ops/dead-letters/:id/replay", func(c echo.Context) error {
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
	}, operators)
}

// OpsCounts serves GET /ops/counts on the module's internal server: the counts report
// returns, by name, under the module's name ({"orders": {"refund_failed": 1}}).
// They are for the states that wait for an operator, which a log line said
// once and nothing keeps in view: an alert or an operator's look finds them
// here, without reading business data through the public API. Init calls it
// at most once; a module that does not has no such route.
func (e *Env) OpsCounts(report func(ctx context.Context) (map[string]int64, error)) {
	name := e.Module.Name
	e.Internal.GET("/ops/counts", func(c echo.Context) error {
		counts, err := report(c.Request().Context())
		if err != nil {
			return fmt.Errorf("app: module %s: ops counts: %w", name, err)
		}
		return c.JSON(http.StatusOK, map[string]map[string]int64{name: counts})
	}, e.sys.operators())
}

// readiness is what /readyz checks of a module: its database answers, its
// schema is at the head of its migrations and its consumers run. A module
// with no data is ready once it serves.
func readiness(env *Env) []web.Check {
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
}
