package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/uberservice/uberservice/bench/internal/load"
	"github.com/uberservice/uberservice/internal/cluster"
)

// params are the sizes of every scenario: the full run's, or the smoke
// run's (short, one run, few deposits).
type params struct {
	Runs int `json:"runs"` // measured runs of each configuration; medians are over them

	FootprintSettle time.Duration `json:"footprint_settle_ns"` // idle wait after ready, before sampling
	FootprintLoad   time.Duration `json:"footprint_load_ns"`   // deposit load while sampling
	FootprintConc   int           `json:"footprint_concurrency"`

	StartupRuns int `json:"startup_runs"`

	DepositConc     []int         `json:"deposit_concurrency"`
	DepositDuration time.Duration `json:"deposit_duration_ns"`
	DepositAccounts int           `json:"deposit_accounts"`
	Warmup          time.Duration `json:"warmup_ns"`

	EventRuns     int           `json:"event_runs"`     // short runs: more of them, for a steadier median
	EventDeposits int           `json:"event_deposits"` // per run
	EventRate     int           `json:"event_rate"`     // deposits per second
	IdleSettle    time.Duration `json:"idle_settle_ns"`
	IdleWindow    time.Duration `json:"idle_window_ns"`

	GatewayRuns     int           `json:"gateway_runs"`
	GatewayRate     int           `json:"gateway_rate"`
	GatewayDuration time.Duration `json:"gateway_duration_ns"`
	GatewayAccounts int           `json:"gateway_accounts"`

	OrderConc     int           `json:"order_concurrency"`
	OrderDuration time.Duration `json:"order_duration_ns"`

	// The hand-written baseline (scenario 3b) runs DepositDuration per point.
	BaselineConc     []int `json:"baseline_concurrency"`
	BaselineAccounts int   `json:"baseline_accounts"`

	// MicroBenchtime is the -benchtime of scenario 8's go test -bench; ""
	// for go test's default.
	MicroBenchtime string `json:"micro_benchtime,omitempty"`
}

func fullParams() params {
	return params{
		Runs:            3,
		FootprintSettle: 2 * time.Second, FootprintLoad: 3 * time.Second, FootprintConc: 16,
		StartupRuns: 5,
		DepositConc: []int{1, 16, 64}, DepositDuration: 8 * time.Second, DepositAccounts: 1000, Warmup: 2 * time.Second,
		EventRuns: 5, EventDeposits: 500, EventRate: 200, IdleSettle: 2 * time.Second, IdleWindow: 10 * time.Second,
		GatewayRuns: 5, GatewayRate: 200, GatewayDuration: 10 * time.Second, GatewayAccounts: 100,
		OrderConc: 16, OrderDuration: 8 * time.Second,
		BaselineConc: []int{16, 64}, BaselineAccounts: 2000,
	}
}

func smokeParams() params {
	return params{
		Runs:            1,
		FootprintSettle: 500 * time.Millisecond, FootprintLoad: time.Second, FootprintConc: 16,
		StartupRuns: 1,
		DepositConc: []int{1, 16, 64}, DepositDuration: time.Second, DepositAccounts: 100, Warmup: 500 * time.Millisecond,
		EventRuns: 1, EventDeposits: 50, EventRate: 100, IdleSettle: 500 * time.Millisecond, IdleWindow: 2 * time.Second,
		GatewayRuns: 1, GatewayRate: 100, GatewayDuration: time.Second, GatewayAccounts: 10,
		OrderConc: 16, OrderDuration: time.Second,
		BaselineConc: []int{16, 64}, BaselineAccounts: 100,
		MicroBenchtime: "100ms",
	}
}

// env is what every scenario gets: the binary, the servers of the machine,
// the sizes to run at, and somewhere to write scratch files.
type env struct {
	ctx    context.Context
	binary string
	// catalogue is the binary's modules: the scenarios run every one of them.
	catalogue cluster.Catalogue
	admin     string // Postgres admin URL
	nats      string
	amqp      string
	p         params
	scratch   string
	cores     int
	logf      func(format string, args ...any)
	// before is the binary of -before REV; nil without the flag.
	before *beforeBinary
}

// Topologies the scenarios run.
func (e *env) oneProcess() cluster.Topology {
	return cluster.OneProcess("one process (gochannel)", "gochannel", e.catalogue)
}

func (e *env) onePerModule(busName string) cluster.Topology {
	bus := map[string]string{"NATS": e.nats, "RabbitMQ": e.amqp, "Postgres": "postgres"}[busName]
	return cluster.OnePerModule("one process per module ("+busName+")", bus, e.catalogue)
}

// config is how the scenarios run a topology: on a fresh database and, on
// a broker, a fresh namespace; process logs (JSON, info level, the default)
// in RAM when the machine has /dev/shm, so that they do not compete with
// Postgres for the disk.
func (e *env) config() cluster.Config {
	cfg := cluster.Config{
		Binary:          e.binary,
		AdminURL:        e.admin,
		DatabasePrefix:  "uberservice_bench_",
		NamespacePrefix: "bench",
		Logf:            e.logf,
		// The scenarios measure what a module can take, from one customer
		// at a time: a person's rate limit would measure the limit.
		Args: []string{"--rate-limit", "0"},
	}
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		cfg.TempDir = "/dev/shm"
	}
	return cfg
}

// start runs topo, ready to take requests.
func (e *env) start(topo cluster.Topology) (*cluster.Cluster, error) {
	return e.startWith(topo, e.config())
}

// startWith is start with a config of its own: another binary, or flags
// and environment added to config's.
func (e *env) startWith(topo cluster.Topology, cfg cluster.Config) (*cluster.Cluster, error) {
	started := time.Now()
	c, err := cluster.Start(e.ctx, topo, cfg)
	if err != nil {
		return nil, err
	}
	e.logf("  %s: %d process(es) ready in %s", topo.Name, len(c.Processes()), time.Since(started).Round(time.Millisecond))
	return c, nil
}

// stop closes c, and adds the error of closing to err. When err is set, it
// gets the end of every process's log first.
func (e *env) stop(c *cluster.Cluster, err *error) {
	if c == nil {
		return
	}
	if *err != nil {
		for _, p := range c.Processes() {
			logs := p.Logs()
			if len(logs) > 4096 {
				logs = "..." + logs[len(logs)-4096:]
			}
			*err = fmt.Errorf("%w\n--- end of the log of process %s ---\n%s", *err, p.Name(), logs)
		}
	}
	if cerr := c.Close(); cerr != nil && *err == nil {
		*err = fmt.Errorf("close %s: %w", c.Topology().Name, cerr)
	}
}

// park stops every process of c (SIGTERM; each must exit 0) and keeps the
// rest, its database first: a parked cluster holds no connection to
// Postgres. The scenarios that measure several deployments in interleaved
// rounds park each between its runs, so that only the one measured holds
// connections: one process of every module holds up to --db-pool-size (10)
// per module, and the machine's Postgres may allow only 100 in all, some of
// them taken by others.
func (e *env) park(c *cluster.Cluster) error {
	if err := c.Shutdown(); err != nil {
		return fmt.Errorf("park %s: %w", c.Topology().Name, err)
	}
	return nil
}

// wake starts the processes of a parked c again, with the same flags,
// ports and database, and warms them up: warm from a closed loop of 16
// workers for the warm-up time (every answer passing check, when set), then
// the backlog that query counts drained.
func (e *env) wake(c *cluster.Cluster, warm vegeta.Targeter, check func(*vegeta.Result) error, query string) error {
	if err := e.waitForSlots(e.slotsFor(c.Topology())); err != nil {
		return err
	}
	if err := c.EnsureUp(e.ctx); err != nil {
		return err
	}
	sum := load.Run(e.ctx, warm, load.Options{Name: "warm-up " + c.Topology().Name, Workers: 16, Duration: e.p.Warmup, Check: check})
	if err := sum.Err(); err != nil {
		return err
	}
	_, err := drainBy(e.ctx, c.DatabaseURL(), query, brokerOf(c), time.Minute)
	return err
}

// slotsFor is how many connections topo may open at most: a pool of
// --db-pool-size (10) for each module that keeps data.
func (e *env) slotsFor(topo cluster.Topology) int {
	n := 0
	for _, m := range topo.Modules() {
		if info, ok := e.catalogue.Module(m); ok && info.Database {
			n += baselinePool
		}
	}
	return n
}

// waitForSlots waits, up to a minute, until Postgres has room for n more
// client connections: other test runs on the machine may hold many of them
// for a while. After that it goes on anyway, and says so.
func (e *env) waitForSlots(n int) error {
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	conn, err := pgx.Connect(ctx, e.admin)
	cancel()
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(e.ctx))
	const free = `SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int -
		(SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')`
	deadline := time.Now().Add(time.Minute)
	for waited := false; ; waited = true {
		var left int
		if err := conn.QueryRow(e.ctx, free).Scan(&left); err != nil {
			return fmt.Errorf("free connection slots: %w", err)
		}
		switch {
		case left >= n:
			return nil
		case time.Now().After(deadline):
			e.logf("  Postgres has %d free connection slots of the %d a deployment may open (other work holds the rest); going on", left, n)
			return nil
		case !waited:
			e.logf("  Postgres has %d free connection slots of the %d a deployment may open (other work holds the rest); waiting up to a minute", left, n)
		}
		if err := e.sleep(time.Second); err != nil {
			return err
		}
	}
}

// quiesce makes Postgres write every dirty page now (CHECKPOINT) and the
// kernel flush every dirty file page (sync), so that a checkpoint or a
// writeback that earlier work (a build, a dropped database) would cause
// does not land in the next measurement; then it lets the machine settle.
func (e *env) quiesce() error {
	syscall.Sync()
	ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, e.admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CHECKPOINT"); err != nil {
		return fmt.Errorf("CHECKPOINT: %w", err)
	}
	syscall.Sync()
	return e.sleep(500 * time.Millisecond)
}

// sleep waits d or until the run is cancelled.
func (e *env) sleep(d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-e.ctx.Done():
		return e.ctx.Err()
	case <-t.C:
		return nil
	}
}

// commands is how to start c's processes by hand: one shell line per
// process, in the background, with the modules on their default ports and
// the database URL and namespace as variables.
func (e *env) commands(c *cluster.Cluster) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", c.Topology().Name)
	for _, p := range c.Processes() {
		line := "uberservice " + strings.Join(p.Args, " ")
		line = strings.ReplaceAll(line, c.DatabaseURL(), `"$DATABASE_URL"`)
		if ns := c.Namespace(); ns != "" {
			line = strings.ReplaceAll(line, "--bus-namespace "+ns, `--bus-namespace "$NAMESPACE"`)
		}
		for _, m := range c.Topology().Modules() {
			if info, ok := e.catalogue.Module(m); ok {
				line = strings.ReplaceAll(line, c.Addr(m), fmt.Sprintf("127.0.0.1:%d", info.Port))
			}
		}
		b.WriteString(line + " &\n")
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// dbName is the database name of a postgres:// URL.
func dbName(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}
