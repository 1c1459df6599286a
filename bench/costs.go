package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/uberservice/uberservice/bench/internal/load"
	"github.com/uberservice/uberservice/bench/internal/procstat"
	"github.com/uberservice/uberservice/bench/internal/stats"
	"github.com/uberservice/uberservice/internal/cluster"
)

// costsConc is the concurrency scenario 8 runs deposits at.
const costsConc = 16

// costConfig is one way scenario 8 runs every module in one process.
type costConfig struct {
	Name string   `json:"name"`
	Args []string `json:"args,omitempty"` // added to the bench's flags
	Env  []string `json:"env,omitempty"`
	// Skipped says why the configuration was not measured ("" when it was).
	Skipped string `json:"skipped,omitempty"`
	// Sink is what the OTLP sink of a tracing configuration received.
	Sink *sinkCounts `json:"sink,omitempty"`

	sink *otlpSink
	c    *cluster.Cluster
	ids  []string
	as   []string
	tg   vegeta.Targeter
}

type costRun struct {
	Config  string       `json:"config"`
	Round   int          `json:"round"`
	HTTP    load.Summary `json:"http"`
	Backlog backlog      `json:"backlog"`
	// CPU is the uberservice process's (and its database's backends') over
	// the run and the draining of its backlog.
	CPU procstat.CPUUse `json:"cpu"`
}

// noExporter keeps an OTLP endpoint of the bench's own environment from
// turning tracing on where the configuration has none: the binary exports
// traces when OTEL_EXPORTER_OTLP_ENDPOINT names one.
var noExporter = []string{"OTEL_EXPORTER_OTLP_ENDPOINT=", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="}

// whatCostsCost: deposits at concurrency 16, every module in one process,
// with metrics on (the default), with --metrics=false, and with every
// request traced (sampled at 1) or one in a hundred (0.01) to an OTLP/HTTP
// sink the bench runs; measured in interleaved rounds (A B C D A B C D),
// each woken for its run and parked after. Then the Go micro-benchmarks of token verification,
// cached and uncached.
func whatCostsCost(e *env) (s *scenario, err error) {
	s = &scenario{ID: "costs", Title: "8. What security and observability cost"}
	configs := []*costConfig{
		{Name: "default (metrics on, no tracing)", Env: noExporter},
		{Name: "--metrics=false", Args: []string{"--metrics=false"}, Env: noExporter},
		{Name: "tracing, sampled at 1"},
		{Name: "tracing, sampled at 0.01"},
	}
	if ok, err := hasFlag(e.ctx, e.binary, "metrics"); err != nil {
		return s, err
	} else if !ok {
		configs[1].Skipped = "not measured: this binary's `run` has no --metrics flag"
		e.logf("  %s: %s", configs[1].Name, configs[1].Skipped)
	}
	for i, arg := range map[int]string{2: "1", 3: "0.01"} {
		c := configs[i]
		if c.sink, err = startSink(); err != nil {
			return s, err
		}
		defer c.sink.close()
		c.Args = []string{"--otlp-endpoint", c.sink.URL}
		c.Env = []string{"OTEL_TRACES_SAMPLER=parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG=" + arg}
	}
	var measured []*costConfig
	for _, c := range configs {
		if c.Skipped != "" {
			continue
		}
		cfg := e.config()
		cfg.Args = append(cfg.Args, c.Args...)
		cfg.Env = append(cfg.Env, c.Env...)
		topo := cluster.OneProcess(c.Name, "gochannel", e.catalogue)
		if err = e.waitForSlots(e.slotsFor(topo)); err != nil {
			return s, err
		}
		if c.c, err = e.startWith(topo, cfg); err != nil {
			return s, err
		}
		defer e.stop(c.c, &err)
		if c.Name == configs[0].Name {
			s.Commands = []string{e.commands(c.c)}
		}
		var p people
		if p, err = peopleOf(c.c); err != nil {
			return s, err
		}
		c.as = p.customer
		if c.ids, err = openAccounts(e.ctx, p, c.c.URL("accounts"), e.p.DepositAccounts, ""); err != nil {
			return s, err
		}
		c.tg = deposits(c.c.URL("accounts"), c.ids, c.as)
		if _, err = drain(e.ctx, c.c, time.Minute); err != nil {
			return s, err
		}
		// Parked until its runs: only the process measured holds
		// connections to Postgres.
		if err = e.park(c.c); err != nil {
			return s, err
		}
		measured = append(measured, c)
	}
	if err := e.quiesce(); err != nil {
		return s, err
	}
	runs := map[string][]*costRun{} // by config; rounds in order
	var raw []*costRun
	for r := range e.p.Runs {
		for _, c := range measured {
			if err := e.wake(c.c, c.tg, nil, backlogQuery); err != nil {
				return s, err
			}
			meter, err := procstat.StartCPU(e.ctx, c.c.PIDs(), e.admin, dbName(c.c.DatabaseURL()))
			if err != nil {
				return s, err
			}
			sum := load.Run(e.ctx, c.tg, load.Options{
				Name: fmt.Sprintf("%s round %d", c.Name, r+1), Workers: costsConc, Duration: e.p.DepositDuration})
			if err := sum.Err(); err != nil {
				return s, err
			}
			b, err := drain(e.ctx, c.c, 3*time.Minute)
			if err != nil {
				return s, err
			}
			cpu, err := meter.Stop(e.ctx)
			if err != nil {
				return s, err
			}
			if err := e.park(c.c); err != nil {
				return s, err
			}
			run := &costRun{Config: c.Name, Round: r + 1, HTTP: sum, Backlog: b, CPU: cpu}
			e.logf("  %s: %.0f deposits/s, p50 %s, p99 %s; %s µs of uberservice CPU per deposit", c.Name, sum.Throughput,
				sum.P50.Round(time.Microsecond), sum.P99.Round(time.Microsecond), num(cpuPerDeposit(run)))
			runs[c.Name] = append(runs[c.Name], run)
			raw = append(raw, run)
		}
	}
	// Stopped, the tracing processes have flushed what they still held to
	// their sinks: the counts are complete.
	for _, c := range measured {
		if c.sink != nil {
			counts := c.sink.counts()
			c.Sink = &counts
		}
	}

	base := configs[0].Name
	ratio := func(name string, f func(*costRun) float64) float64 {
		var rs []float64
		for r, run := range runs[name] {
			if b := f(runs[base][r]); b > 0 {
				rs = append(rs, f(run)/b)
			}
		}
		return stats.Median(rs)
	}
	rate := func(r *costRun) float64 { return r.HTTP.Throughput }
	p99 := func(r *costRun) float64 { return float64(r.HTTP.P99) }
	t := table{Caption: fmt.Sprintf("Deposits at concurrency %d, every module in one process (medians of rounds; ratios: median over rounds "+
		"of that round's ratio to the default)", costsConc),
		Header: []string{"configuration", "deposits/s", "p50", "p99", "deposits/s ÷ default", "p99 ÷ default",
			"uberservice CPU / deposit", "÷ default", "OTLP sink received"}}
	for _, c := range configs {
		if c.Skipped != "" {
			t.Rows = append(t.Rows, []string{c.Name, c.Skipped, "", "", "", "", "", "", ""})
			continue
		}
		rs := runs[c.Name]
		med := func(f func(*costRun) float64) float64 { return stats.Median(stats.Map(rs, f)) }
		sink := "— (no exporter)"
		if c.Sink != nil {
			sink = fmt.Sprintf("%d requests, %s", c.Sink.Requests, bytesStr(c.Sink.Bytes))
			if c.Sink.Other > 0 {
				sink += fmt.Sprintf(" (and %d requests to other paths)", c.Sink.Other)
			}
		}
		row := []string{c.Name, num(med(rate)), msStr(time.Duration(med(func(r *costRun) float64 { return float64(r.HTTP.P50) }))),
			msStr(time.Duration(med(p99))), "—", "—", num(med(cpuPerDeposit)) + " µs", "—", sink}
		if c.Name != base {
			row[4], row[5], row[7] = times(ratio(c.Name, rate)), times(ratio(c.Name, p99)), times(ratio(c.Name, cpuPerDeposit))
		}
		t.Rows = append(t.Rows, row)
	}
	s.Tables = []table{t}
	heads := []string{}
	for _, c := range configs[1:] {
		if c.Skipped == "" {
			heads = append(heads, fmt.Sprintf("%s: %s× the default's deposits/s", c.Name, num(ratio(c.Name, rate))))
		}
	}

	// The micro-benchmarks of token verification, once the servers are
	// stopped: they measure one core's work, not the machine's.
	e.logf("  go test -bench Verify ./platform/identity/ ./platform/peerauth/")
	micro, microNote := verifyBenchmarks(e)
	mt := table{Caption: "Token verification, cached and uncached (`go test -run '^$' -bench Verify -benchmem " + strings.Join(verifyPackages, " ") + "`)",
		Header: []string{"package", "benchmark", "ns/op", "B/op", "allocs/op"}}
	for _, pkg := range verifyPackages {
		var got bool
		for _, m := range micro {
			if m.Package == pkg {
				got = true
				mt.Rows = append(mt.Rows, []string{pkg, m.Name, num(m.NsPerOp), strconv.FormatInt(m.BytesPerOp, 10), strconv.FormatInt(m.AllocsPerOp, 10)})
			}
		}
		if !got {
			mt.Rows = append(mt.Rows, []string{pkg, microNote, "", "", ""})
		}
	}
	s.Tables = append(s.Tables, mt)
	notes := ""
	cached, uncached := findBench(micro, "./platform/identity/", "BenchmarkVerifyCached"), findBench(micro, "./platform/identity/", "BenchmarkVerifyUncached")
	if cached != nil && uncached != nil {
		perDeposit := stats.Median(stats.Map(runs[base], cpuPerDeposit))
		notes = fmt.Sprintf("**Per deposit.** A deposit carries a person's token, which platform/identity verifies: %s µs when the token "+
			"is in the cache (the load above sends the same token every time, so every deposit but the first is a hit), %s µs when "+
			"it is not (a signature check), a difference of %s µs, against %s µs of uberservice CPU per deposit in the default "+
			"configuration above (which also counts the relay, im's handler and the mail dispatcher of that deposit).",
			num(cached.NsPerOp/1000), num(uncached.NsPerOp/1000), num((uncached.NsPerOp-cached.NsPerOp)/1000), num(perDeposit))
		heads = append(heads, fmt.Sprintf("a person's token %s µs cached, %s µs uncached", num(cached.NsPerOp/1000), num(uncached.NsPerOp/1000)))
	}
	s.Notes = notes
	s.Headline = strings.Join(heads, "; ")
	s.Raw = map[string]any{"concurrency": costsConc, "accounts": e.p.DepositAccounts, "configs": configs, "runs": raw,
		"verify_benchmarks": micro, "verify_benchmarks_note": microNote}
	benchtime := "go test's default -benchtime (1s)"
	if e.p.MicroBenchtime != "" {
		benchtime = "`-benchtime " + e.p.MicroBenchtime + "`"
	}
	servers, order, skipped := "Four", "A B C D", ""
	if len(measured) == 3 {
		servers, order = "Three", "A B C"
		skipped = " **This binary's `run` has no --metrics flag: that configuration was not measured.**"
	}
	s.Method = fmt.Sprintf("What metrics and tracing cost a deposit, and what verifying a person's token costs. %s uberservice "+
		"deployments, each one process with every module (gochannel bus, `--rate-limit 0`, as in scenario 3) on a database of "+
		"its own with %d accounts: **default** (metrics recorded, no tracing: no exporter is configured, so no span is recorded); "+
		"**--metrics=false** (records no request, gateway or consumer metrics; /metrics still serves the Go runtime's); **tracing, "+
		"sampled at 1** and **at 0.01**: `--otlp-endpoint http://127.0.0.1:PORT` with `OTEL_TRACES_SAMPLER=parentbased_traceidratio` "+
		"and `OTEL_TRACES_SAMPLER_ARG` 1 or 0.01, exporting (OTLP/HTTP, protobuf, the SDK's batching defaults) to a sink the bench "+
		"runs: a net/http server that reads each POST /v1/traces, counts it and its bytes, and answers 200 with an empty body, "+
		"without decoding it; **OTLP sink received** is what it counted over the whole scenario, warm-up and the flush at shutdown "+
		"included: proof that spans were exported, not a count of spans. Load: `POST /v1/accounts/{id}/deposits` `{\"amount\":100}` "+
		"from a closed loop of %d vegeta workers for %s per run; each round runs them one after the other "+
		"(%s …, %d round(s)), and each ratio is the median over rounds of that round's ratio to the default, so that the "+
		"machine's drift cancels out. Before each run the process is started again (same flags, ports and database) and warmed "+
		"up (16 workers for %s, then its backlog drained), and stopped after it, so that only the one measured holds connections "+
		"to Postgres. After each run the bench waits until the outbox and pending emails are empty; **uberservice "+
		"CPU / deposit** is the process's user+system time over the run and that drain, divided by the deposits answered. "+
		"Authentication cannot be turned off in the product, so its cost is measured apart, as the Go micro-benchmarks "+
		"`BenchmarkVerifyCached` and `BenchmarkVerifyUncached` of platform/identity (a person's token, which every deposit carries) "+
		"and platform/peerauth (the service tokens modules call each other's gateways with across processes), run by the bench "+
		"with %s once the servers are stopped, on the same machine: cached vs uncached verification, per deposit.%s",
		servers, e.p.DepositAccounts, costsConc, e.p.DepositDuration, order, e.p.Runs, e.p.Warmup, benchtime, skipped)
	return s, nil
}

// cpuPerDeposit is the uberservice process's CPU time per deposit answered,
// in microseconds.
func cpuPerDeposit(r *costRun) float64 {
	if r.HTTP.OK == 0 {
		return 0
	}
	return float64(r.CPU.Service.Microseconds()) / float64(r.HTTP.OK)
}

// hasFlag reports whether binary's `run` takes --name: whether `run -h`
// lists it.
func hasFlag(ctx context.Context, binary, name string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := cluster.Command(ctx, binary, nil, "run", "-h").CombinedOutput()
	if err != nil && len(out) == 0 {
		return false, fmt.Errorf("%s run -h: %w", binary, err)
	}
	return regexp.MustCompile(`(?m)^\s+--?` + regexp.QuoteMeta(name) + `(\s|$)`).Match(out), nil
}

// otlpSink is an OTLP/HTTP trace receiver that only counts: it reads every
// POST /v1/traces, answers 200 with an empty body (an empty
// ExportTraceServiceResponse: everything accepted) and counts the requests
// and their bytes, without decoding them.
type otlpSink struct {
	URL      string
	srv      *http.Server
	requests atomic.Int64
	bytes    atomic.Int64
	other    atomic.Int64
}

// sinkCounts is what an otlpSink received.
type sinkCounts struct {
	Requests int64 `json:"requests"` // POST /v1/traces
	Bytes    int64 `json:"bytes"`    // their bodies, as sent
	Other    int64 `json:"other_requests,omitempty"`
}

func startSink() (*otlpSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("OTLP sink: %w", err)
	}
	s := &otlpSink{URL: "http://" + ln.Addr().String()}
	s.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			s.other.Add(1)
			http.NotFound(w, r)
			return
		}
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.requests.Add(1)
		s.bytes.Add(n)
		w.WriteHeader(http.StatusOK)
	})}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *otlpSink) counts() sinkCounts {
	return sinkCounts{Requests: s.requests.Load(), Bytes: s.bytes.Load(), Other: s.other.Load()}
}

func (s *otlpSink) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

// verifyPackages are the packages whose BenchmarkVerify* scenario 8 runs.
var verifyPackages = []string{"./platform/identity/", "./platform/peerauth/"}

// microBench is one line of go test -bench's output.
type microBench struct {
	Package     string  `json:"package"` // as verifyPackages names it
	Name        string  `json:"name"`    // without the -GOMAXPROCS suffix
	Iterations  int64   `json:"iterations"`
	NsPerOp     float64 `json:"ns_per_op"`
	BytesPerOp  int64   `json:"bytes_per_op"`
	AllocsPerOp int64   `json:"allocs_per_op"`
}

func findBench(ms []microBench, pkg, name string) *microBench {
	for i := range ms {
		if ms[i].Package == pkg && ms[i].Name == name {
			return &ms[i]
		}
	}
	return nil
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(-\d+)?\s+(\d+)\s+(.*)$`)

// verifyBenchmarks runs the BenchmarkVerify* of verifyPackages. It never
// fails the scenario: when they cannot run, or there are none (yet), note
// says so for the report.
func verifyBenchmarks(e *env) (out []microBench, note string) {
	root, err := cluster.RepoRoot()
	if err != nil {
		return nil, err.Error()
	}
	args := []string{"test", "-run", "^$", "-bench", "Verify", "-benchmem", "-count", "1"}
	if e.p.MicroBenchtime != "" {
		args = append(args, "-benchtime", e.p.MicroBenchtime)
	}
	args = append(args, verifyPackages...)
	ctx, cancel := context.WithTimeout(e.ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	output, err := cmd.CombinedOutput()
	out = parseBenchmarks(string(output))
	switch {
	case err != nil && !errors.Is(ctx.Err(), context.Canceled):
		note = fmt.Sprintf("`go %s` failed (%v): %s", strings.Join(args, " "), err, lastLines(string(output), 3))
	case err != nil:
		note = "cancelled"
	default:
		note = "absent: no benchmark matching Verify in this package yet"
	}
	if err != nil || len(out) == 0 {
		e.logf("  micro-benchmarks: %s", note)
	}
	return out, note
}

// bytesStr formats a byte count in B, KiB or MiB.
func bytesStr(n int64) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return num(float64(n)/(1<<10)) + " KiB"
	}
	return mbStr(float64(n))
}

// parseBenchmarks reads go test -bench -benchmem's output: the lines of
// the benchmarks of verifyPackages (go test prints "pkg: <import path>"
// before a package's benchmarks).
func parseBenchmarks(output string) []microBench {
	var out []microBench
	pkg := ""
	sc := bufio.NewScanner(strings.NewReader(output))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if rest, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = ""
			for _, p := range verifyPackages {
				if strings.HasSuffix(rest, strings.TrimSuffix(strings.TrimPrefix(p, "."), "/")) {
					pkg = p
				}
			}
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil || pkg == "" {
			continue
		}
		b := microBench{Package: pkg, Name: m[1]}
		b.Iterations, _ = strconv.ParseInt(m[3], 10, 64)
		f := strings.Fields(m[4])
		for i := 0; i+1 < len(f); i += 2 {
			switch f[i+1] {
			case "ns/op":
				b.NsPerOp, _ = strconv.ParseFloat(f[i], 64)
			case "B/op":
				b.BytesPerOp, _ = strconv.ParseInt(f[i], 10, 64)
			case "allocs/op":
				b.AllocsPerOp, _ = strconv.ParseInt(f[i], 10, 64)
			}
		}
		out = append(out, b)
	}
	return out
}

// lastLines is the last n non-empty lines of s, joined with " / ".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
