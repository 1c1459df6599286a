package app

import (
	"context"
	"fmt"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/metrics"
	"github.com/uberservice/uberservice/platform/web"
)

// MetricsPath is where every module's internal server serves the system's
// metrics, for Prometheus to scrape.
const MetricsPath = web.MetricsPath

// instrument gives env's module its metrics, before Init mounts anything:
// the middleware that records every request on its two servers, what its
// database says (its pool; its outbox, dead letters and mail, read at each
// scrape), and GET /metrics on its internal server.
//
// /metrics asks for no token: the internal listener is reached only by the
// deployment's own network (peers, operators, Prometheus), as a scraper
// expects of a metrics endpoint, and it says nothing of any person or
// order, only counts. It serves the whole system's registry, so in one
// process every module's /metrics says the same, each series labelled with
// its module.
func (s *System) instrument(env *Env) error {
	name := env.Module.Name
	env.HTTP.Use(web.Metrics(name, "public"))
	env.Internal.Use(web.Metrics(name, "internal"))
	env.Internal.GET(MetricsPath, echo.WrapHandler(s.metrics.Handler()))
	if env.DB == nil {
		return nil
	}
	pool, err := env.DB.DB.DB()
	if err != nil {
		return fmt.Errorf("module %s: metrics: %w", name, err)
	}
	return s.metrics.AddDatabase(name, pool)
}

// Gauge declares the module's gauge family uberservice_<name>{module,
// labels...}, whose series read returns at every scrape (the sagas in each
// state, say). read has a short deadline (metrics.ScrapeTimeout); when it
// fails, the scrape goes on without the family. Init calls it.
func (e *Env) Gauge(name, help string, labels []string, read func(ctx context.Context) ([]metrics.Sample, error)) error {
	if e.sys.metrics == nil { // Inspect's system serves no metrics
		return nil
	}
	return e.sys.metrics.Gauge(e.Module.Name, name, help, labels, read)
}

// Counter declares the module's counter family uberservice_<name>{module,
// labels...}; name ends in _total. Init calls it, and the module counts
// with what it returns.
func (e *Env) Counter(name, help string, labels ...string) (*metrics.Counter, error) {
	if e.sys.metrics == nil {
		return nil, nil // the nil Counter counts nothing
	}
	return e.sys.metrics.Counter(e.Module.Name, name, help, labels...)
}
