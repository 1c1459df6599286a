package app

import (
	"context"
	"fmt"
	"net/http"
	"regexp"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/mail"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/web"
)

// A shadow (run --shadow NAME) is a second instance of a module, usually of
// another build, that runs beside the live one and does what it does without
// anyone seeing it: `uberservice compare` then holds its effects to the live
// module's (see package fitness). Every module of a shadow process is a
// shadow:
//   - it consumes the events the live module consumes, as a consumer group
//     of its own, <module>_<name>, so that both get every event;
//   - it keeps its data in a schema of its own, <module>_<name>, owned by a
//     role of its own made the way a module's is (so the shared, administrative
//     database URL is needed), migrated by its own binary's migrations, and
//     filled once, at its first start, with the live schema's rows (see
//     database.Fork): the managers, links and inbox it needs to act as the
//     live one would on the next event;
//   - it sends no email: its mail is recorded in its schema and logged;
//   - it publishes nothing: its outbox keeps what it would have published and
//     no relay reads it;
//   - its public API answers its probes alone, and its internal API serves
//     the ops routes but not its gateway, which nobody may call.
//
// The gateways a shadow calls are the live peers' (--peer): a shadow reads
// them as the live module does, so a module whose handlers call a gateway
// method that changes something must not be shadowed, or the change is made
// twice. im calls accounts only to read.
var shadowName = regexp.MustCompile(`^[a-z][a-z0-9]{0,15}$`)

// ShadowSchema is the schema, and the consumer group, of module's shadow
// name.
func ShadowSchema(module, name string) string { return module + "_" + name }

// shadowTables are the platform's tables a fork leaves empty: what the live
// module has yet to publish or send, or was asked before, is not the
// shadow's; its inbox, which says which events are handled already, is.
var shadowTables = []string{database.PlatformTable, database.ModuleTable, "outbox", "notifications", "dead_letters", "idempotency_keys"}

// checkShadow checks the shadow cfg names, if any, against the modules it
// would start, and sends its mail nowhere.
func checkShadow(cfg *Config, selected []Module) error {
	if cfg.Shadow == "" {
		return nil
	}
	if !shadowName.MatchString(cfg.Shadow) {
		return usagef("--shadow %q: want a lowercase letter, then up to 15 lowercase letters or digits", cfg.Shadow)
	}
	for _, m := range selected {
		if m.Migrations == nil || len(m.Consumes) == 0 {
			return usagef("--shadow %s: module %s consumes no events into a schema: a shadow of it would do nothing (--modules names those to shadow)", cfg.Shadow, m.Name)
		}
		if cfg.ModuleURLs[m.Name] != "" {
			return usagef("--shadow %s: module %s has a database of its own; a shadow runs on the shared one (--database-url URL), beside the live schema", cfg.Shadow, m.Name)
		}
	}
	cfg.Mail = mail.NewRecorder(cfg.Log.With("shadow", cfg.Shadow))
	return nil
}

// stored is m as the system keeps its data: m, or in a shadow, m under the
// shadow's schema name, whose role and consumer group are the shadow's own.
func (s *System) stored(m Module) Module {
	if s.cfg.Shadow != "" {
		m.Name = ShadowSchema(m.Name, s.cfg.Shadow)
	}
	return m
}

// shadowPublic makes a shadow's public API answer its probes alone.
func (s *System) shadowPublic(env *Env) {
	if s.cfg.Shadow == "" {
		return
	}
	env.Log = env.Log.With("shadow", s.cfg.Shadow)
	name := s.cfg.Shadow
	env.HTTP.Pre(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if p := c.Request().URL.Path; p == web.HealthPath || p == web.ReadyPath {
				return next(c)
			}
			return problem.New(http.StatusNotFound, "shadow", "Not served by a shadow").
				WithDetail("this is %s's shadow %s, which serves no public traffic", env.Module.Name, name)
		}
	})
}

// fork fills every shadow schema, at its first start, with the live one's
// rows (see database.Fork). It runs after provision and before subscribe:
// an event the live module handles after the shadow's group exists is
// either in the inbox copied, and skipped, or delivered to the shadow.
func (s *System) fork(ctx context.Context) error {
	if s.cfg.Shadow == "" {
		return nil
	}
	for _, r := range s.modules {
		live, shadow := r.env.Module, s.stored(r.env.Module)
		a, err := moduleAccess(s.cfg, shadow)
		if err != nil {
			return err
		}
		if a.admin == "" {
			return fmt.Errorf("shadow %s of %s: no administrative database URL to fork the live schema with", s.cfg.Shadow, live.Name)
		}
		if err := database.Fork(ctx, a.admin, live.Name, shadow.Name, a.role, shadowTables); err != nil {
			return fmt.Errorf("shadow %s of %s: %w", s.cfg.Shadow, live.Name, err)
		}
		r.env.Log.Info("shadow forked from the live schema", "schema", shadow.Name)
	}
	return nil
}
