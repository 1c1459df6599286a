package app

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/uberservice/uberservice/platform/peerauth"
	"github.com/uberservice/uberservice/platform/pgembed"
	"github.com/uberservice/uberservice/platform/ratelimit"
	"github.com/uberservice/uberservice/platform/tracing/otlp"
)

// flags are the options shared by run and migrate.
type flags struct {
	modules   string
	listen    multiFlag
	internal  multiFlag
	databases databaseFlag
	bus       string
	busNS     string
	peers     multiFlag
	mailURL   string
	noMigrate bool
	metrics   bool
	logLevel  string
	logFormat string
	shutdown  time.Duration
	pgDir     string
	keys      string
	people    identityFlags
	rate      string
	burst     string
	poolSize  int
	debug     string
	traceUI   string
	otlp      string
	// shadowPeers is --shadow-peer MODULE/NAME=URL (effects.go).
	shadowPeers multiFlag
}

func newFlagSet(name string, f *flags, modules []Module, serving bool) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\nFlags of %s (each also read from the environment variable it names):\n", usageText, name)
		fs.PrintDefaults()
	}
	fs.StringVar(&f.modules, "modules", os.Getenv("UBERSERVICE_MODULES"), "comma-separated modules to start (env UBERSERVICE_MODULES; default all)")
	f.databases = databaseFlagFromEnv(modules)
	fs.Var(&f.databases, "database-url", "Postgres URL shared by all modules (env DATABASE_URL), or MODULE=URL for a module's own database (env UBERSERVICE_DATABASE_URL_<MODULE>); repeatable. Default: the local Postgres on 127.0.0.1:5432, else an embedded one")
	fs.StringVar(&f.pgDir, "embedded-postgres-dir", envOr("UBERSERVICE_EMBEDDED_POSTGRES_DIR", pgembed.DefaultDir()), "data folder of the embedded Postgres used when no database is configured or found")
	fs.StringVar(&f.logLevel, "log-level", envOr("UBERSERVICE_LOG_LEVEL", "info"), "debug, info, warn or error (env UBERSERVICE_LOG_LEVEL)")
	fs.StringVar(&f.logFormat, "log-format", envOr("UBERSERVICE_LOG_FORMAT", "text"), "text or json (env UBERSERVICE_LOG_FORMAT)")
	busUsage := "the event bus: gochannel (in-process, the default), nats://HOST:4222 (NATS JetStream), amqp://USER:PASS@HOST:5672/ (RabbitMQ) or postgres (on the shared database) (env UBERSERVICE_BUS)"
	if !serving {
		busUsage = "the event bus the modules run on: on nats://..., amqp://... or postgres, migrate creates every selected module's consumer group, so that the events published before the module first starts wait for it (env UBERSERVICE_BUS; gochannel, the default, keeps no groups)"
	}
	fs.StringVar(&f.bus, "bus", os.Getenv("UBERSERVICE_BUS"), busUsage)
	fs.StringVar(&f.busNS, "bus-namespace", os.Getenv("UBERSERVICE_BUS_NAMESPACE"), "prefix for every topic and consumer group, so that several deployments can share one broker (env UBERSERVICE_BUS_NAMESPACE)")
	if serving {
		f.listen = envList("UBERSERVICE_LISTEN")
		fs.Var(&f.listen, "listen", "MODULE=ADDR of a module's public API, repeatable (env UBERSERVICE_LISTEN, comma-separated; default each module's port)")
		fs.StringVar(&f.keys, "keys", os.Getenv(peerauth.DirEnv), "the key set: the folder of the modules' keys, made by uberservice keys generate (env UBERSERVICE_KEYS_DIR; default a development key set beside the embedded Postgres's data)")
		f.people.register(fs)
		fs.StringVar(&f.rate, "rate-limit", envOr("UBERSERVICE_RATE_LIMIT", "100"), "requests a second one person may make to a module's public API, on average; 0 for no limit (env UBERSERVICE_RATE_LIMIT)")
		fs.StringVar(&f.burst, "rate-burst", envOr("UBERSERVICE_RATE_BURST", "200"), "requests one person may make at once, after a pause (env UBERSERVICE_RATE_BURST)")
		f.internal = envList("UBERSERVICE_INTERNAL_LISTEN")
		fs.Var(&f.internal, "internal-listen", "MODULE=ADDR of a module's internal API (its gateway and ops routes), repeatable (env UBERSERVICE_INTERNAL_LISTEN, comma-separated; default each module's internal port)")
		f.peers = envList("UBERSERVICE_PEERS")
		fs.Var(&f.peers, "peer", "MODULE=URL of the internal API of a module running elsewhere, repeatable (env UBERSERVICE_PEERS, comma-separated); a module of several instances: MODULE=URL;weight=N;version=V per endpoint, repeated or comma-separated after one MODULE=")
		fs.StringVar(&f.mailURL, "mail-url", os.Getenv("UBERSERVICE_MAIL_URL"), "smtp://user:pass@host:port?from=ADDR, or log to record emails without sending (env UBERSERVICE_MAIL_URL; default log)")
		fs.BoolVar(&f.noMigrate, "no-migrate", os.Getenv("UBERSERVICE_NO_MIGRATE") == "true", "do not apply migrations at start-up (env UBERSERVICE_NO_MIGRATE=true)")
		fs.DurationVar(&f.shutdown, "shutdown-timeout", 20*time.Second, "bound on a graceful stop")
		fs.IntVar(&f.poolSize, "db-pool-size", 10, "connections per module pool, at most: a pool starts with one and opens the rest once callers wait for it")
		fs.StringVar(&f.traceUI, "trace-ui", os.Getenv("UBERSERVICE_TRACE_UI"), "base URL of the trace backend's query API (Jaeger's, e.g. http://localhost:16686), where the console looks traces up (env UBERSERVICE_TRACE_UI; default none)")
		fs.BoolVar(&f.metrics, "metrics", os.Getenv("UBERSERVICE_METRICS") != "false", "record requests, gateway calls and events for /metrics; false records none, and /metrics serves only the gauges read at scrape and the runtime's (env UBERSERVICE_METRICS=false)")
		fs.StringVar(&f.otlp, "otlp-endpoint", "", "URL of an OTLP/HTTP receiver to export traces to, e.g. http://localhost:4318 (default: OTEL_EXPORTER_OTLP_ENDPOINT; none: no traces are recorded)")
		f.shadowPeers = envList("UBERSERVICE_SHADOW_PEERS")
		fs.Var(&f.shadowPeers, "shadow-peer", "MODULE/NAME=URL of the internal API of module's shadow NAME running elsewhere, for the console to compare with the live module, repeatable (env UBERSERVICE_SHADOW_PEERS, comma-separated)")
		fs.StringVar(&f.debug, "debug-listen", os.Getenv("UBERSERVICE_DEBUG_LISTEN"), "ADDR to serve Go's profiler on (/debug/pprof/), e.g. 127.0.0.1:6060 (env UBERSERVICE_DEBUG_LISTEN; default off)")
	}
	return fs
}

func (f *flags) config(modules []Module, stderr io.Writer) (Config, *slog.Logger, error) {
	log, err := newLogger(stderr, f.logLevel, f.logFormat)
	if err != nil {
		return Config{}, nil, err
	}
	cfg := Config{Log: log, Migrate: !f.noMigrate, ShutdownTimeout: f.shutdown, PoolSize: f.poolSize,
		DatabaseURL: f.databases.shared, ModuleURLs: f.databases.modules, BusURL: f.bus, BusNamespace: f.busNS, TraceUI: f.traceUI,
		Traces: otlp.Config{Endpoint: f.otlp}, NoMetrics: !f.metrics}
	if cfg.RateLimit, err = f.rateLimit(); err != nil {
		return cfg, log, err
	}
	if f.modules != "" {
		for _, n := range strings.Split(f.modules, ",") {
			if n = strings.TrimSpace(n); n != "" {
				cfg.Modules = append(cfg.Modules, n)
			}
		}
	}
	if _, err := Select(modules, cfg.Modules); err != nil {
		return cfg, log, err
	}
	names := map[string]bool{}
	for _, m := range modules {
		names[m.Name] = true
	}
	if cfg.Listen, err = f.listen.pairs("--listen", names); err != nil {
		return cfg, log, err
	}
	if cfg.InternalListen, err = f.internal.pairs("--internal-listen", names); err != nil {
		return cfg, log, err
	}
	if cfg.Peers, err = f.peers.peerSpecs(names); err != nil {
		return cfg, log, err
	}
	for m := range cfg.ModuleURLs {
		if !names[m] {
			return cfg, log, usagef("--database-url %s=...: unknown module %q", m, m)
		}
	}
	if cfg.ShadowPeers, err = shadowPeers(f.shadowPeers, modules); err != nil {
		return cfg, log, err
	}
	return cfg, log, nil
}

// multiFlag is a repeatable NAME=VALUE flag that also accepts comma-separated
// lists, as the environment variables do.
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }

func (m *multiFlag) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*m = append(*m, part)
		}
	}
	return nil
}

func (m multiFlag) pairs(flagName string, modules map[string]bool) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range m {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" || v == "" {
			return nil, usagef("%s %q: want MODULE=VALUE", flagName, kv)
		}
		if !modules[k] {
			var valid []string
			for n := range modules {
				valid = append(valid, n)
			}
			sort.Strings(valid)
			return nil, usagef("%s %q: unknown module %q; valid modules: %s", flagName, kv, k, strings.Join(valid, ", "))
		}
		out[k] = v
	}
	return out, nil
}

func envList(name string) multiFlag {
	var m multiFlag
	if v := os.Getenv(name); v != "" {
		_ = m.Set(v)
	}
	return m
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// databaseFlag is --database-url: a plain URL is the database every module
// shares; MODULE=URL gives one module a database of its own.
type databaseFlag struct {
	shared  string
	modules map[string]string
}

var moduleName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

func (d *databaseFlag) String() string { return d.shared }

func (d *databaseFlag) Set(v string) error {
	if k, url, ok := strings.Cut(v, "="); ok && moduleName.MatchString(k) {
		if url == "" {
			return fmt.Errorf("want MODULE=URL, got %q", v)
		}
		if d.modules == nil {
			d.modules = map[string]string{}
		}
		d.modules[k] = url
		return nil
	}
	d.shared = v
	return nil
}

// databaseFlagFromEnv reads DATABASE_URL and UBERSERVICE_DATABASE_URL_<MODULE>.
func databaseFlagFromEnv(modules []Module) databaseFlag {
	d := databaseFlag{shared: os.Getenv("DATABASE_URL")}
	for _, m := range modules {
		if url := os.Getenv("UBERSERVICE_DATABASE_URL_" + strings.ToUpper(m.Name)); url != "" {
			_ = d.Set(m.Name + "=" + url)
		}
	}
	return d
}

// rateLimit is the rate limit of --rate-limit and --rate-burst; none for
// migrate, which serves nothing.
func (f *flags) rateLimit() (ratelimit.Config, error) {
	if f.rate == "" {
		return ratelimit.Config{}, nil
	}
	rate, err := strconv.ParseFloat(f.rate, 64)
	if err != nil || rate < 0 || math.IsInf(rate, 0) || math.IsNaN(rate) {
		return ratelimit.Config{}, usagef("--rate-limit %q: want a number of requests a second, 0 or more", f.rate)
	}
	burst, err := strconv.Atoi(f.burst)
	if err != nil || burst < 0 {
		return ratelimit.Config{}, usagef("--rate-burst %q: want a whole number of requests, 0 or more", f.burst)
	}
	return ratelimit.Config{PerSecond: rate, Burst: burst}, nil
}
