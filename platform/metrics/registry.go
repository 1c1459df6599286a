package metrics

import (
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/uberservice/uberservice/platform/build"
)

// Registry is the metrics of one running system: the package's vectors, the
// build, the Go runtime and the process, and what AddDatabase, Gauge and
// Counter add for its modules.
type Registry struct {
	reg *prometheus.Registry
	to  prometheus.Registerer // reg, with the shadow's label when there is one
	log *slog.Logger
}

// NewRegistry returns the registry of a system. log hears of the scrapes
// that skip a module whose database did not answer in time. instance names
// the process (uberservice_build_info's instance_id, the id its traces carry
// as service.instance.id): what tells two processes apart when their other
// labels, and even their start times, are alike. shadow, when not "", is the
// name of the shadow the process runs (app's --shadow): every series it
// serves then carries shadow="<name>", so that a shadow's counts are never
// summed with the live module's, whose module label it shares.
func NewRegistry(log *slog.Logger, instance, shadow string) *Registry {
	if log == nil {
		log = slog.Default()
	}
	reg := prometheus.NewRegistry()
	var to prometheus.Registerer = reg
	if shadow != "" {
		to = prometheus.WrapRegistererWith(prometheus.Labels{"shadow": shadow}, reg)
	}
	to.MustRegister(vectors...)
	to.MustRegister(buildInfo(instance),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &Registry{reg: reg, to: to, log: log}
}

// buildInfo is uberservice_build_info: the binary's version and VCS
// revision (package build) and Go version, and the process's instance id: one
// series a process, so the label's values stay as many as the processes.
func buildInfo(instance string) prometheus.Collector {
	version, revision := build.Version(), build.Revision()
	if revision == "" {
		revision = "unknown"
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "The binary's version, VCS revision and Go version, and the process's instance id; always 1.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": runtime.Version(), "instance_id": instance},
	})
	g.Set(1)
	return g
}

// Gatherer is what the registry serves, for tests.
func (r *Registry) Gatherer() prometheus.Gatherer { return r.reg }

// Handler serves the registry in Prometheus's text format. A collector that
// fails fails no scrape: what it could not say is left out, and the rest is
// served.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(r.log.Handler(), slog.LevelWarn),
	})
}

// AddDatabase registers what module's database says: its pool
// (go_sql_*{db_name=module}) and, at every scrape, its outbox, dead letters
// and mail (see tables.go).
func (r *Registry) AddDatabase(module string, db *sql.DB) error {
	if err := r.to.Register(collectors.NewDBStatsCollector(db, module)); err != nil {
		return fmt.Errorf("metrics: pool of %s: %w", module, err)
	}
	if err := r.to.Register(newTables(module, db, r.log)); err != nil {
		return fmt.Errorf("metrics: tables of %s: %w", module, err)
	}
	return nil
}
