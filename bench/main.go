// Command bench measures uberservice against the targets of its benchmark
// issue: footprint, start-up, deposits against the Postgres ceiling and
// against a hand-written net/http + pgx server (bench/handwritten), event
// latency and idle CPU, the cost of crossing a gateway, orders, racing a
// slow endpoint, and what metrics, tracing and token verification cost. It
// builds the real binary (with -before REV, that revision's too), runs
// every scenario against the Postgres and the brokers of this machine, and
// writes BENCHMARKS.md and the raw results.json.
//
//	go run ./bench                 # the full run (make bench)
//	go run ./bench -smoke -out DIR # every scenario, short, once (make bench-smoke)
//	go run ./bench -before b8b0945 # also the binary of b8b0945, in scenarios 3b and 6
//
// It exits 1 when any scenario fails; targets that are not met are only
// reported.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/uberservice/uberservice/bench/internal/procstat"
	"github.com/uberservice/uberservice/internal/cluster"
)

type scenarioFunc struct {
	id  string
	run func(*env) (*scenario, error)
}

var scenarios = []scenarioFunc{
	{"footprint", footprint},
	{"startup", startup},
	{"deposits", depositsVsPostgres},
	{"handwritten", versusHandwritten},
	{"events", eventLatency},
	{"gateway", crossingGateway},
	{"orders", placeOrders},
	{"racing", racing},
	{"costs", whatCostsCost},
}

func main() { os.Exit(run()) }

func run() int {
	smoke := flag.Bool("smoke", false, "short durations, one run per configuration, few deposits: checks that every scenario runs and reports")
	out := flag.String("out", "bench", "folder for results.json")
	report := flag.String("report", "BENCHMARKS.md", "where to write the report")
	binary := flag.String("binary", "", "an uberservice binary to measure, instead of building ./cmd/uberservice")
	only := flag.String("only", "", "comma-separated scenarios to run (default all): "+ids())
	before := flag.String("before", "", "a git revision (e.g. b8b0945) whose ./cmd/uberservice scenarios 3b and 6 measure beside the current binary, "+
		"interleaved: the before of a before/after comparison (make bench passes BENCH_BEFORE)")
	flag.Parse()

	start := time.Now()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "bench %6.1fs  %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		if sig, ok := <-sigs; ok {
			logf("received %v: stopping, cleaning up and writing what was measured", sig)
			cancel()
		}
	}()

	res := &results{Mode: "full", Params: fullParams(), Command: "make bench"}
	if *smoke {
		res.Mode, res.Params, res.Command = "smoke", smokeParams(), "make bench-smoke"
	}
	selected, err := choose(*only)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 2
	}
	if *only != "" {
		res.Command += " (only " + *only + ")"
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	scratch, err := os.MkdirTemp("", "uberservice-bench-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		return 1
	}
	defer os.RemoveAll(scratch)

	e := &env{ctx: ctx, admin: cluster.AdminURL(), nats: cluster.NATSURL(), amqp: cluster.AMQPURL(),
		p: res.Params, scratch: scratch, logf: logf, cores: runtime.NumCPU()}
	if res.Machine, err = describeMachine(ctx, e.admin, e.nats, e.amqp); err != nil {
		fmt.Fprintf(os.Stderr, "bench: FAIL: the machine lacks a server every scenario needs: %v\n", err)
		return 1
	}
	buildStart := time.Now()
	if *binary != "" {
		e.binary, res.Build = *binary, "given with -binary: "+*binary
	} else {
		logf("building ./cmd/uberservice (CGO_ENABLED=0 go build -trimpath, as make build)")
		e.binary, err = cluster.Build(ctx, scratch, cluster.BuildOptions{Flags: []string{"-trimpath"}, Env: []string{"CGO_ENABLED=0"}})
		if err != nil {
			fmt.Fprintf(os.Stderr, "bench: FAIL: %v\n", err)
			return 1
		}
		res.Build = "`CGO_ENABLED=0 go build -trimpath ./cmd/uberservice`, as `make build`"
	}
	if *before != "" && !slices.Contains(selected, "handwritten") && !slices.Contains(selected, "orders") {
		logf("-before %s: neither scenario 3b (handwritten) nor 6 (orders) runs; not building it", *before)
	} else if *before != "" {
		logf("building ./cmd/uberservice of %s for -before (git archive, then CGO_ENABLED=0 go build -trimpath)", *before)
		if e.before, err = buildBefore(ctx, scratch, *before); err != nil {
			fmt.Fprintf(os.Stderr, "bench: FAIL: %v\n", err)
			return 1
		}
		res.Before = e.before
		res.Build += fmt.Sprintf("; before: `%s` (`-before %s`), built the same way from `git archive %s`", e.before.Short, e.before.Rev, e.before.Short)
	}
	res.BuildSeconds = time.Since(buildStart).Seconds()
	if e.catalogue, err = cluster.ReadCatalogue(ctx, e.binary); err != nil {
		fmt.Fprintf(os.Stderr, "bench: FAIL: %v\n", err)
		return 1
	}

	mon := startMonitor(ctx, e.admin)
	failed := 0
	for _, sc := range scenarios {
		if !slices.Contains(selected, sc.id) {
			continue
		}
		// Start each scenario on a quiet database server: whatever the last
		// one left dirty (or dropped) is written out now, not in the middle
		// of this one.
		if err := e.quiesce(); err != nil {
			logf("quiesce: %v", err)
		}
		load := loadavg()
		mon.take()
		// The whole run must stay within 20 minutes on a slow machine: once
		// 14 are gone, what is left runs once.
		reduced := res.Mode == "full" && time.Since(start) > 14*time.Minute
		if reduced {
			e.p.Runs, e.p.EventRuns, e.p.GatewayRuns = 1, 1, 1
			logf("14 minutes are gone: scenario %s runs once", sc.id)
		}
		logf("scenario %s (load average %s)", sc.id, load)
		steal, _ := procstat.StartSteal()
		t0 := time.Now()
		s, err := sc.run(e)
		if s == nil {
			s = &scenario{ID: sc.id, Title: sc.id}
		}
		s.Seconds, s.LoadAvg, s.Reduced = time.Since(t0).Seconds(), load, reduced
		s.Others, s.MaxLoad = mon.take()
		s.Steal = steal.Fraction()
		logf("scenario %s: %.1f%% of the machine's CPU time was stolen by the hypervisor", sc.id, 100*s.Steal)
		if s.Others != "none" {
			logf("scenario %s: other work on the machine's Postgres while it ran: %s", sc.id, s.Others)
		}
		if err == nil && ctx.Err() != nil {
			err = ctx.Err()
		}
		if err != nil {
			failed++
			s.Error = err.Error()
			logf("scenario %s FAILED after %.0fs: %v", sc.id, s.Seconds, err)
		} else {
			logf("scenario %s done in %.0fs", sc.id, s.Seconds)
			for _, t := range s.Targets {
				logf("  target %-55s %-12s measured %-18s %s", t.Name, t.Goal, t.Measured, t.verdict())
			}
		}
		res.Scenarios = append(res.Scenarios, s)
		if ctx.Err() != nil {
			break
		}
	}
	res.Machine.LoadAfter = loadavg()
	res.TotalSeconds = time.Since(start).Seconds()

	jsonPath := filepath.Join(*out, "results.json")
	data, err := json.MarshalIndent(res, "", "  ")
	if err == nil {
		err = os.WriteFile(jsonPath, append(data, '\n'), 0o644)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: write %s: %v\n", jsonPath, err)
		return 1
	}
	link, err := filepath.Rel(filepath.Dir(absPath(*report)), absPath(jsonPath))
	if err != nil {
		link = jsonPath
	}
	if err := os.WriteFile(*report, []byte(res.markdown(filepath.ToSlash(link))), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "bench: write %s: %v\n", *report, err)
		return 1
	}
	logf("wrote %s and %s in %s", *report, jsonPath, time.Since(start).Round(time.Second))
	if failed > 0 {
		fmt.Fprintf(os.Stderr, "bench: FAIL: %d scenario(s) failed; see %s\n", failed, *report)
		return 1
	}
	if ran := len(res.Scenarios); ran != len(selected) {
		fmt.Fprintf(os.Stderr, "bench: FAIL: %d of %d scenarios ran\n", ran, len(selected))
		return 1
	}
	return 0
}

func ids() string {
	var out []string
	for _, s := range scenarios {
		out = append(out, s.id)
	}
	return strings.Join(out, ",")
}

func choose(only string) ([]string, error) {
	if only == "" {
		return strings.Split(ids(), ","), nil
	}
	var out []string
	for _, id := range strings.Split(only, ",") {
		id = strings.TrimSpace(id)
		if !slices.ContainsFunc(scenarios, func(s scenarioFunc) bool { return s.id == id }) {
			return nil, fmt.Errorf("-only: unknown scenario %q (want some of %s)", id, ids())
		}
		out = append(out, id)
	}
	return out, nil
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}
