package metrics

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
)

// A module declares metrics of its own through its app.Env, which calls
// Gauge and Counter here: the module names a family and its labels, and
// the registry prefixes the name with uberservice_ and adds the module label,
// so that no module imports Prometheus or can forget whose series it is.

// Sample is one series of a gauge family read at scrape time: the values of
// the family's labels, in the order it declares them, and its value.
type Sample struct {
	Labels []string
	Value  float64
}

// Gauge registers the gauge family uberservice_<name>{module,labels...} of
// module, whose series read returns at every scrape. read is given at most
// ScrapeTimeout; when it fails, the family is left out of that scrape and
// the failure logged.
func (r *Registry) Gauge(module, name, help string, labels []string, read func(ctx context.Context) ([]Sample, error)) error {
	g := &gaugeFamily{module: module, read: read, log: r.log,
		desc: prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, prometheus.Labels{"module": module})}
	if err := r.to.Register(g); err != nil {
		return fmt.Errorf("metrics: gauge %s of %s: %w", name, module, err)
	}
	return nil
}

// Counter registers the counter family uberservice_<name>{module,labels...}
// of module. name ends in _total, as a counter's does.
func (r *Registry) Counter(module, name, help string, labels ...string) (*Counter, error) {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: name, Help: help, ConstLabels: prometheus.Labels{"module": module},
	}, labels)
	if err := r.to.Register(vec); err != nil {
		return nil, fmt.Errorf("metrics: counter %s of %s: %w", name, module, err)
	}
	return &Counter{vec: vec}, nil
}

// Counter is a module's counter family. The nil Counter counts nothing, for
// a module's code run without a system (a unit test's).
type Counter struct{ vec *prometheus.CounterVec }

// Add adds v (>= 0) to the series of labelValues, creating it at 0 first:
// Add(0, ...) makes a series visible before its first event.
func (c *Counter) Add(v float64, labelValues ...string) {
	if c != nil {
		c.vec.WithLabelValues(labelValues...).Add(v)
	}
}

// Inc adds 1 to the series of labelValues.
func (c *Counter) Inc(labelValues ...string) { c.Add(1, labelValues...) }

// gaugeFamily is a module's gauge family, read at scrape time.
type gaugeFamily struct {
	module string
	desc   *prometheus.Desc
	read   func(ctx context.Context) ([]Sample, error)
	log    *slog.Logger

	warned throttle
}

func (g *gaugeFamily) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g *gaugeFamily) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	samples, err := g.read(ctx)
	if err != nil {
		g.warn(err)
		return
	}
	for _, s := range samples {
		m, err := prometheus.NewConstMetric(g.desc, prometheus.GaugeValue, s.Value, s.Labels...)
		if err != nil { // the module's bug: labels that do not match its family
			g.warn(err)
			continue
		}
		ch <- m
	}
}

func (g *gaugeFamily) warn(err error) {
	if !g.warned.allow() {
		return
	}
	g.log.Warn("metrics: skipped a module's gauges in a scrape", "module", g.module, "desc", g.desc.String(), "error", err)
}
