// Package metrics is what a running system tells Prometheus: the counters and
// histograms the platform's hooks record (web, httpclient, contract,
// messaging), the gauges read from every module's tables at scrape time, the
// ones a module declares itself (Registry.Gauge, Registry.Counter), its
// database pools and the Go runtime and process. Every module's internal
// listener serves them on GET /metrics (package app).
//
// # Metrics
//
// Every series carries a module label (the module it belongs to) unless
// noted; no label ever holds an id.
//
//	uberservice_build_info{version,revision,goversion,instance_id} gauge, 1 (no module; one per process)
//	uberservice_http_requests_total{module,api,method,route,code} counter; api public|internal,
//	                                                               route the route template, "unmatched" when none
//	uberservice_http_request_duration_seconds{module,api,method,route} histogram
//	uberservice_gateway_calls_total{module,gateway,method,outcome} counter; module is the caller,
//	                                                               outcome ok|refused|failed|breaker_open
//	uberservice_gateway_call_duration_seconds{module,gateway,method} histogram
//	uberservice_gateway_breaker_state{module,gateway,endpoint}    gauge: 0 closed, 1 half-open, 2 open
//	uberservice_outbox_pending{module}                            gauge, rows not yet relayed
//	uberservice_outbox_oldest_age_seconds{module}                 gauge, 0 when empty
//	uberservice_relay_published_total{module,topic}               counter
//	uberservice_relay_failures_total{module}                      counter
//	uberservice_consumer_deliveries_total{module,topic}           counter, messages from the bus
//	uberservice_consumer_handled_total{module,topic}              counter, deliveries and retries handled
//	uberservice_consumer_retries_total{module,topic}              counter, automatic retries run
//	uberservice_consumer_dead_lettered_total{module,topic}        counter, messages that went dead
//	uberservice_consumer_lag_seconds{module,topic}                histogram, handled - occurred_at
//	uberservice_consumer_subscribed{module,topic}                 gauge, 1 while the module's consumers in this
//	                                                               process are subscribed to the topic: who reads
//	                                                               which version of a topic, instance by instance
//	uberservice_dead_letters{module,status}                       gauge; status retrying|dead
//	uberservice_mail_messages{module,status}                      gauge; status pending|sent|recorded|failed
//	uberservice_saga_states{module,saga,state}                    gauge (orders)
//	uberservice_saga_recoveries_total{module,saga}                counter (orders)
//	go_sql_*{db_name}                                             the module's pool; db_name is the module
//	go_*, process_*                                               the Go runtime and the process
//
// A shadow's process (app's --shadow NAME) adds shadow="NAME" to every series.
//
// The gateway metrics count calls over HTTP and calls in one process alike.
// In one process every module's /metrics serves the same registry, the whole
// process's, so a reader interested in one module filters by module.
//
// # Why package-level vectors
//
// The hooks live in packages that have no registry at hand (a gateway's HTTP
// client, the web server's middleware, the bus's consumers), so the vectors
// they record to are variables of this package, as is client_golang's own
// convention; each System's Registry registers them. Several systems in one
// process (tests) therefore share their counts, told apart by module only.
// What reads a module's database, or what a module declares, belongs to one
// system and lives in its Registry.
package metrics

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// off is whether the platform's hooks record nothing (SetRecording).
var off atomic.Bool

// SetRecording turns the recording of requests, gateway calls, relayed and
// consumed events on or off for the whole process (app's --metrics=false
// turns it off). Off, /metrics still serves the gauges read at scrape, the
// pools, the Go runtime and the process: what costs nothing on the request
// path. It exists to measure what recording costs, and for deployments
// that want none of it.
func SetRecording(on bool) { off.Store(!on) }

// Recording reports whether the hooks record (SetRecording).
func Recording() bool { return !off.Load() }

const namespace = "uberservice"

// Buckets of the latency histograms: from a fast in-process call to a call
// that times out (5s), and of the consumers' lag, up to minutes of backlog.
var (
	latencyBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}
	lagBuckets     = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300}
)

// The vectors the platform's hooks record to (see the package doc).
var (
	HTTPRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "http_requests_total",
		Help: "HTTP requests served, by route template and status code.",
	}, []string{"module", "api", "method", "route", "code"})
	HTTPDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "http_request_duration_seconds",
		Help: "Time to serve an HTTP request, by route template.", Buckets: latencyBuckets,
	}, []string{"module", "api", "method", "route"})

	GatewayCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "gateway_calls_total",
		Help: "Gateway calls made by the module, by outcome: ok, refused (4xx), failed (5xx or transport), breaker_open.",
	}, []string{"module", "gateway", "method", "outcome"})
	GatewayDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "gateway_call_duration_seconds",
		Help: "Time of a gateway call made by the module, retries included.", Buckets: latencyBuckets,
	}, []string{"module", "gateway", "method"})
	BreakerState = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "gateway_breaker_state",
		Help: "State of the circuit breaker of one endpoint (host:port) of a gateway's HTTP client: 0 closed, 1 half-open, 2 open.",
	}, []string{"module", "gateway", "endpoint"})

	RelayPublished = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "relay_published_total",
		Help: "Events the outbox relay handed to the bus.",
	}, []string{"module", "topic"})
	RelayFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "relay_failures_total",
		Help: "Outbox relay passes that failed (the rows stay and are sent again).",
	}, []string{"module"})

	ConsumerDeliveries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "consumer_deliveries_total",
		Help: "Messages the bus delivered to the module's handlers.",
	}, []string{"module", "topic"})
	ConsumerHandled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "consumer_handled_total",
		Help: "Messages handled (or found already handled), on delivery or on a retry.",
	}, []string{"module", "topic"})
	ConsumerRetries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "consumer_retries_total",
		Help: "Automatic retries of failed messages.",
	}, []string{"module", "topic"})
	ConsumerDeadLettered = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "consumer_dead_lettered_total",
		Help: "Messages that became dead letters, waiting for an operator.",
	}, []string{"module", "topic"})
	ConsumerLag = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "consumer_lag_seconds",
		Help: "Time from an event's occurrence (its outbox write) to its handling.", Buckets: lagBuckets,
	}, []string{"module", "topic"})
	ConsumerSubscribed = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: namespace, Name: "consumer_subscribed",
		Help: "1 for every topic the module's consumers in this process are subscribed to (which version of a topic it reads).",
	}, []string{"module", "topic"})
)

// vectors are the collectors every Registry registers.
var vectors = []prometheus.Collector{
	HTTPRequests, HTTPDuration,
	GatewayCalls, GatewayDuration, BreakerState,
	RelayPublished, RelayFailures,
	ConsumerDeliveries, ConsumerHandled, ConsumerRetries, ConsumerDeadLettered, ConsumerLag, ConsumerSubscribed,
}
