package app

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/fitness"
	"github.com/uberservice/uberservice/platform/problem"
)

// EffectsPath is the internal route at which a module that declares
// Fitness serves its own effects: the live module from its schema, a shadow
// from its own. Neither's role may read the other's schema, so whoever
// compares the two (the console) asks each for its own and compares them
// (fitness.Diff).
const EffectsPath = "/ops/effects"

// mountEffects serves GET /ops/effects?since=1h|RFC3339 (default 1h) to
// operators: a fitness.Snapshot of the module's effects in the window.
func mountEffects(env *Env) {
	if len(env.Module.Fitness) == 0 || env.DB == nil {
		return
	}
	env.Internal.GET(EffectsPath, func(c echo.Context) error {
		q := c.QueryParam("since")
		if q == "" {
			q = "1h"
		}
		since, err := fitness.ParseSince(q, time.Now())
		if err != nil {
			return problem.ErrInvalid.WithDetail("%v", err)
		}
		db, err := env.DB.DB.DB()
		if err != nil {
			return fmt.Errorf("app: module %s: effects: %w", env.Module.Name, err)
		}
		if env.sys.cfg.Shadow != "" {
			// A shadow answers from its fork when that came later, as
			// `uberservice compare` does; Since says from when, and the
			// console asks the live module for the same window.
			if since, err = fitness.SinceFork(c.Request().Context(), db, env.DB.Schema, database.ForkTable, since); err != nil {
				return fmt.Errorf("app: module %s: %w", env.Module.Name, err)
			}
		}
		set, err := fitness.Read(c.Request().Context(), db, env.DB.Schema, env.Module.Fitness, since)
		if err != nil {
			return fmt.Errorf("app: module %s: %w", env.Module.Name, err)
		}
		return c.JSON(http.StatusOK, fitness.Snapshot{Module: env.Module.Name, Shadow: env.sys.cfg.Shadow, Since: since, Effects: set})
	}, env.sys.operators())
}

// ShadowPeer is a shadow running elsewhere (--shadow-peer MODULE/NAME=URL):
// the base URL of the internal API of module's shadow name.
type ShadowPeer struct {
	Module string
	Name   string
	URL    string
}

// ShadowPeers are the shadows this process was told of (Config.ShadowPeers,
// --shadow-peer), by module and name: for an operator's view, such as the
// console's, that compares them with the live modules.
func (e *Env) ShadowPeers() []ShadowPeer {
	return slices.Clone(e.sys.cfg.ShadowPeers)
}

// shadowPeers parses --shadow-peer MODULE/NAME=URL: the module must be the
// binary's and declare Fitness, the name a shadow's, the URL absolute.
func shadowPeers(values []string, modules []Module) ([]ShadowPeer, error) {
	var out []ShadowPeer
	for _, v := range values {
		key, raw, _ := strings.Cut(v, "=")
		module, name, ok := strings.Cut(key, "/")
		u, err := url.Parse(raw)
		if !ok || err != nil || u.Scheme == "" || u.Host == "" {
			return nil, usagef("--shadow-peer %q: want MODULE/NAME=URL, such as im/canary=http://127.0.0.1:9182", v)
		}
		i := slices.IndexFunc(modules, func(m Module) bool { return m.Name == module })
		if i < 0 || len(modules[i].Fitness) == 0 {
			return nil, usagef("--shadow-peer %q: %q is no module that declares effects to compare (app.Module.Fitness)", v, module)
		}
		if !shadowName.MatchString(name) {
			return nil, usagef("--shadow-peer %q: want the shadow's name, a lowercase letter then up to 15 lowercase letters or digits", v)
		}
		if slices.ContainsFunc(out, func(p ShadowPeer) bool { return p.Module == module && p.Name == name }) {
			return nil, usagef("--shadow-peer %q: shadow %s/%s is given twice", v, module, name)
		}
		out = append(out, ShadowPeer{Module: module, Name: name, URL: strings.TrimRight(raw, "/")})
	}
	slices.SortFunc(out, func(a, b ShadowPeer) int { return strings.Compare(a.Module+"/"+a.Name, b.Module+"/"+b.Name) })
	return out, nil
}
