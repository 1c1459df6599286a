package main

import (
	"fmt"
	"strconv"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/uberservice/uberservice/bench/internal/load"
	"github.com/uberservice/uberservice/bench/internal/stats"
	"github.com/uberservice/uberservice/internal/cluster"
)

// accountsBacklogQuery is backlogQuery for a database of accounts alone.
const accountsBacklogQuery = `SELECT (SELECT count(*) FROM accounts.outbox),
	(SELECT count(*) FROM accounts.notifications WHERE status = 'pending')`

// baselineConfig is one server the scenario measures deposits on.
type baselineConfig struct {
	Name    string `json:"name"`
	url     string
	ids     []string
	as      []string // the Authorization header of the accounts' owner
	dbURL   string
	backlog string // the query drainBy waits on; "" leaves nothing behind to wait for
	// c is the uberservice deployment, parked between its runs; nil for the
	// hand-written server, which runs throughout.
	c *cluster.Cluster
}

type baselineRun struct {
	Config      string       `json:"config"`
	Concurrency int          `json:"concurrency"`
	Round       int          `json:"round"`
	HTTP        load.Summary `json:"http"`
	Backlog     *backlog     `json:"backlog,omitempty"`
	// Sustained counts the deposits over the run and the draining of what
	// it left behind; the baseline leaves nothing to drain.
	Sustained float64 `json:"sustained_per_second"`
}

// baselinePool is uberservice's default --db-pool-size, which the
// hand-written server's pool matches.
const baselinePool = 10

// drainGoal is how soon, at most, the backlog of events and emails the
// highest concurrency's run left must be gone (the median over rounds).
const drainGoal = 200 * time.Millisecond

// versusHandwritten: the same deposits as scenario 3, on uberservice with
// every module in one process, on uberservice running accounts alone, on a
// hand-written net/http + pgx server that sends Postgres the same writes
// and, with -before, on the binary of that revision with every module in
// one process; each round measures them one after the other (A B C D A B C
// D), so that the machine's drift cancels out of the ratios.
func versusHandwritten(e *env) (s *scenario, err error) {
	s = &scenario{ID: "handwritten", Title: "3b. Deposits vs a hand-written server"}
	var started []*cluster.Cluster
	defer func() {
		for i := len(started) - 1; i >= 0; i-- {
			e.stop(started[i], &err)
		}
	}()
	// Each uberservice is started, its accounts opened (one customer of its
	// own key set owns them all), then parked until its runs (see park):
	// only the server measured holds connections to Postgres, beside the
	// hand-written one's pool.
	setUp := func(name string, topo cluster.Topology, cfg cluster.Config, query string) (*baselineConfig, error) {
		if err := e.waitForSlots(e.slotsFor(topo)); err != nil {
			return nil, err
		}
		c, err := e.startWith(topo, cfg)
		if err != nil {
			return nil, err
		}
		started = append(started, c)
		p, err := peopleOf(c)
		if err != nil {
			return nil, err
		}
		bc := &baselineConfig{Name: name, url: c.URL("accounts"), dbURL: c.DatabaseURL(), backlog: query, as: p.customer, c: c}
		if bc.ids, err = openAccounts(e.ctx, p, bc.url, e.p.BaselineAccounts, ""); err != nil {
			return nil, err
		}
		if _, err := drainBy(e.ctx, bc.dbURL, query, nil, time.Minute); err != nil {
			return nil, err
		}
		return bc, e.park(c)
	}
	product := "uberservice, every module in one process"
	beforeName := "before, every module in one process"
	all, err := setUp(product, e.oneProcess(), e.config(), backlogQuery)
	if err != nil {
		return s, err
	}
	alone, err := setUp("uberservice --modules accounts",
		cluster.Topology{Name: "accounts alone (gochannel)", Bus: "gochannel", Processes: [][]string{{"accounts"}}}, e.config(), accountsBacklogQuery)
	if err != nil {
		return s, err
	}
	hw, err := e.startHandwritten(e.p.BaselineAccounts, baselinePool)
	if err != nil {
		return s, err
	}
	defer func() {
		if cerr := hw.close(e.ctx); cerr != nil && err == nil {
			err = cerr
		}
	}()
	s.Commands = []string{e.commands(all.c), e.commands(alone.c), hw.Command}
	// The baseline ignores the Authorization header.
	baseline := &baselineConfig{Name: "hand-written net/http + pgx", url: hw.URL, dbURL: hw.DB, as: all.as}
	for n := 1; n <= e.p.BaselineAccounts; n++ {
		baseline.ids = append(baseline.ids, fmt.Sprintf("00000000-0000-4000-8000-%012d", n))
	}
	configs := []*baselineConfig{all, alone, baseline}
	base := baseline.Name
	if e.before != nil {
		// The binary of the earlier revision, every module in one process,
		// set up as the current one is.
		beforeName = "uberservice " + e.before.label() + ", every module in one process"
		prev, err := setUp(beforeName, e.beforeOneProcess(), e.beforeConfig(), backlogQuery)
		if err != nil {
			return s, err
		}
		configs = append(configs, prev)
	}
	targets := make([]vegeta.Targeter, len(configs))
	for i, c := range configs {
		targets[i] = deposits(c.url, c.ids, c.as)
	}
	// The hand-written server runs throughout: it is warmed up once; an
	// uberservice, each time it wakes.
	warm := load.Run(e.ctx, targets[2], load.Options{Name: "warm-up " + baseline.Name, Workers: 16, Duration: e.p.Warmup})
	if err := warm.Err(); err != nil {
		return s, err
	}

	var raw []*baselineRun
	runs := map[string]map[int][]*baselineRun{} // by config, concurrency; rounds in order
	for _, c := range configs {
		runs[c.Name] = map[int][]*baselineRun{}
	}
	for _, conc := range e.p.BaselineConc {
		if err := e.quiesce(); err != nil {
			return s, err
		}
		for r := range e.p.Runs {
			for i, c := range configs {
				if c.c != nil {
					if err := e.wake(c.c, targets[i], nil, c.backlog); err != nil {
						return s, err
					}
				}
				sum := load.Run(e.ctx, targets[i], load.Options{
					Name: fmt.Sprintf("%s c=%d round %d", c.Name, conc, r+1), Workers: conc, Duration: e.p.DepositDuration})
				if err := sum.Err(); err != nil {
					return s, err
				}
				run := &baselineRun{Config: c.Name, Concurrency: conc, Round: r + 1, HTTP: sum, Sustained: sum.Throughput}
				if c.backlog != "" {
					b, err := drainBy(e.ctx, c.dbURL, c.backlog, nil, 3*time.Minute)
					if err != nil {
						return s, err
					}
					run.Backlog, run.Sustained = &b, float64(sum.OK)/(sum.Seconds+b.Took.Seconds())
				}
				if c.c != nil {
					if err := e.park(c.c); err != nil {
						return s, err
					}
				}
				e.logf("  %s c=%d: %.0f deposits/s, p50 %s, p99 %s, %.0f/s sustained", c.Name, conc, sum.Throughput,
					sum.P50.Round(time.Microsecond), sum.P99.Round(time.Microsecond), run.Sustained)
				runs[c.Name][conc] = append(runs[c.Name][conc], run)
				raw = append(raw, run)
			}
		}
	}

	// ratioTo is the median over rounds of f(config's run) / f(ref's run
	// of the same round): each ratio compares runs seconds apart.
	ratioTo := func(name, ref string, conc int, f func(*baselineRun) float64) float64 {
		var rs []float64
		for r, run := range runs[name][conc] {
			if b := f(runs[ref][conc][r]); b > 0 {
				rs = append(rs, f(run)/b)
			}
		}
		return stats.Median(rs)
	}
	ratio := func(name string, conc int, f func(*baselineRun) float64) float64 { return ratioTo(name, base, conc, f) }
	med := func(name string, conc int, f func(*baselineRun) float64) float64 {
		return stats.Median(stats.Map(runs[name][conc], f))
	}
	rate := func(r *baselineRun) float64 { return r.HTTP.Throughput }
	p50 := func(r *baselineRun) float64 { return float64(r.HTTP.P50) }
	p99 := func(r *baselineRun) float64 { return float64(r.HTTP.P99) }
	sustained := func(r *baselineRun) float64 { return r.Sustained }
	drained := func(r *baselineRun) float64 { return float64(r.Backlog.Took) }
	t := table{Header: []string{"concurrency", "server", "deposits/s", "p50", "p99", "deposits/s ÷ baseline", "p99 ÷ baseline",
		"backlog left", "sustained deposits/s", "sustained ÷ baseline"}}
	for _, conc := range e.p.BaselineConc {
		for _, c := range configs {
			row := []string{strconv.Itoa(conc), c.Name, num(med(c.Name, conc, rate)),
				msStr(time.Duration(med(c.Name, conc, p50))), msStr(time.Duration(med(c.Name, conc, p99)))}
			if c.Name == base {
				row = append(row, "—", "—", "none (nothing relays or sends)", num(med(c.Name, conc, sustained)), "—")
			} else {
				left := fmt.Sprintf("%s events, %s emails: %s",
					num(med(c.Name, conc, func(r *baselineRun) float64 { return float64(r.Backlog.Events) })),
					num(med(c.Name, conc, func(r *baselineRun) float64 { return float64(r.Backlog.Emails) })),
					msStr(time.Duration(med(c.Name, conc, drained))))
				row = append(row, times(ratio(c.Name, conc, rate)), times(ratio(c.Name, conc, p99)), left,
					num(med(c.Name, conc, sustained)), times(ratio(c.Name, conc, sustained)))
			}
			t.Rows = append(t.Rows, row)
		}
		if e.before == nil {
			t.Rows = append(t.Rows, []string{strconv.Itoa(conc), beforeName, notMeasuredBefore, "", "", "", "", "", "", ""})
		}
	}
	s.Tables = []table{t}

	// Before → after: the same figures of the earlier revision's binary and
	// the current one, and the median over rounds of their ratio.
	ba := table{Caption: "Before → after, every module in one process (after ÷ before: above 1× is more deposits, below 1× a shorter p99)",
		Header: []string{"concurrency", "figure", "before", "after", "after ÷ before"}}
	if e.before != nil {
		ba.Header[2] = e.before.label()
		ba.Header[3] = "after (this binary)"
	}
	for _, conc := range e.p.BaselineConc {
		for _, f := range []struct {
			name string
			f    func(*baselineRun) float64
			str  func(float64) string
		}{
			{"deposits/s", rate, num},
			{"sustained deposits/s", sustained, num},
			{"p99", p99, func(v float64) string { return msStr(time.Duration(v)) }},
		} {
			if e.before == nil {
				ba.Rows = append(ba.Rows, []string{strconv.Itoa(conc), f.name, notMeasuredBefore, f.str(med(product, conc, f.f)), "—"})
				continue
			}
			ba.Rows = append(ba.Rows, []string{strconv.Itoa(conc), f.name, f.str(med(beforeName, conc, f.f)),
				f.str(med(product, conc, f.f)), times(ratioTo(product, beforeName, conc, f.f))})
		}
	}
	s.Tables = append(s.Tables, ba)

	for _, conc := range e.p.BaselineConc {
		s.Targets = append(s.Targets,
			atLeast(fmt.Sprintf("sustained deposits/s ÷ hand-written baseline, every module in one process, concurrency %d", conc),
				ratio(product, conc, sustained), 1, "×"),
			reported(fmt.Sprintf("deposits/s (HTTP) ÷ hand-written baseline, every module in one process, concurrency %d", conc),
				ratio(product, conc, rate), "×"))
	}
	top := e.p.BaselineConc[len(e.p.BaselineConc)-1]
	s.Targets = append(s.Targets,
		atMost(fmt.Sprintf("p99 ÷ hand-written baseline, every module in one process, concurrency %d", top),
			ratio(product, top, p99), 1.5, "×"),
		atMost(fmt.Sprintf("backlog of events and emails drained after the concurrency %d run, every module in one process", top),
			ms(time.Duration(med(product, top, drained))), ms(drainGoal), " ms"))
	s.Raw = map[string]any{"accounts": e.p.BaselineAccounts, "pool_size": baselinePool, "runs": raw, "before": e.before}
	servers, order, fourth := "Three", "A B C A B C", ""
	beforeText := fmt.Sprintf(" Run with `-before REV` (as `make bench` does), the scenario also measures the binary of that revision, "+
		"every module in one process, as a fourth server; this run did not (%s).", notMeasuredBefore)
	if e.before != nil {
		servers, order, fourth = "Four", "A B C D A B C D", ", and the binary of an earlier revision (below)"
		beforeText = fmt.Sprintf(" The fourth server is the binary of `%s` (`-before %s`, built as the current one from `git archive`), "+
			"every module in one process with the same flags, on a database of its own, its %d accounts opened and its runs prepared the same way; the "+
			"before → after table compares it with the current binary, each ratio the median over rounds of that round's ratio.",
			e.before.Short, e.before.Rev, e.p.BaselineAccounts)
	}
	s.Method = fmt.Sprintf("%s servers on this machine, each on a database of its own: uberservice with every "+
		"module in one process (gochannel bus, default flags but `--rate-limit 0`, as in scenario 3), uberservice `--modules accounts` alone, "+
		"`bench/handwritten`, a plain net/http + pgx server (pool of %d connections, uberservice's default `--db-pool-size`) on a "+
		"database `uberservice migrate --modules accounts` made%s. The hand-written server sends Postgres a deposit's "+
		"statements one round trip each: the owner lookup, then BEGIN, the UPDATE of the balance with the INSERT of the ledger "+
		"row (one statement), the INSERT of the accounts.funds_deposited.v2 event into the outbox, the INSERT of the owner's email "+
		"into notifications, COMMIT; it answers 201 with the transaction. (uberservice sends the same writes, but checks the owner "+
		"in the UPDATE itself, sends the outbox and email INSERTs with the COMMIT, and commits the deposits that arrive together "+
		"as one group whose statements it pipelines: fewer round trips and fewer commits.) The baseline has no "+
		"authentication, no idempotency keys, no logging, metrics or tracing, and nothing that delivers its events or sends its "+
		"emails: that is the point of the comparison, the cost of everything uberservice does around the same transaction. "+
		"Load: `POST /v1/accounts/{id}/deposits` `{\"amount\":100}` into %d accounts drawn at random, from a closed loop of N vegeta "+
		"workers (as scenario 3) for %s per point; each round measures the servers one after the other (%s …, %d round(s) per "+
		"concurrency) and each ratio is the median over rounds of that round's ratio to the baseline, so that the machine's drift "+
		"cancels out. The hand-written server runs throughout; an uberservice process runs only for its own runs: it is started "+
		"again before each (same flags, ports and database), warmed up (a closed loop of 16 for %s, then its backlog drained) and "+
		"stopped after, so that only the server measured holds connections to Postgres (up to %d per module that keeps data), "+
		"whose max_connections (above) the machine's other work shares. After each uberservice run the bench waits until its outbox and pending emails are empty (polling every 10 ms); "+
		"**backlog left** is what was pending when the last answer came and how long it took to clear, and **sustained** counts "+
		"the run's deposits over the run plus that time: the rate the whole system keeps up with, which the targets compare with "+
		"the baseline's (which leaves nothing behind: its sustained rate is its HTTP rate). The HTTP rate's ratio is reported "+
		"beside them, without a target. Every module's pool has %d connections, so uberservice in one process holds more "+
		"connections than the baseline (one pool per module), though only accounts' serve deposits.%s",
		servers, baselinePool, fourth,
		e.p.BaselineAccounts, e.p.DepositDuration, order, e.p.Runs, e.p.Warmup, baselinePool, baselinePool, beforeText)
	return s, nil
}

// times formats a ratio as a multiple.
func times(v float64) string { return num(v) + "×" }
