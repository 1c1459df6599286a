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
	dbURL   string
	backlog string // the query drainBy waits on; "" leaves nothing behind to wait for
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

// versusHandwritten: the same deposits as scenario 3, on uberservice with
// every module in one process, on uberservice running accounts alone, and on
// a hand-written net/http + pgx server that sends Postgres the same
// statements; all three run side by side, and each round measures them one
// after the other (A B C A B C), so that the machine's drift cancels out of
// the ratios.
func versusHandwritten(e *env) (s *scenario, err error) {
	s = &scenario{ID: "handwritten", Title: "3b. Deposits vs a hand-written server"}
	all, err := e.start(e.oneProcess())
	if err != nil {
		return s, err
	}
	defer e.stop(all, &err)
	alone, err := e.start(cluster.Topology{Name: "accounts alone (gochannel)", Bus: "gochannel", Processes: [][]string{{"accounts"}}})
	if err != nil {
		return s, err
	}
	defer e.stop(alone, &err)
	hw, err := e.startHandwritten(e.p.BaselineAccounts, baselinePool)
	if err != nil {
		return s, err
	}
	defer func() {
		if cerr := hw.close(e.ctx); cerr != nil && err == nil {
			err = cerr
		}
	}()
	s.Commands = []string{e.commands(all), e.commands(alone), hw.Command}

	// One customer of the first cluster's key set owns every account there;
	// the second cluster trusts its own keys. The baseline ignores the header.
	pAll, err := peopleOf(all)
	if err != nil {
		return s, err
	}
	pAlone, err := peopleOf(alone)
	if err != nil {
		return s, err
	}
	configs := []*baselineConfig{
		{Name: "uberservice, every module in one process", url: all.URL("accounts"), dbURL: all.DatabaseURL(), backlog: backlogQuery},
		{Name: "uberservice --modules accounts", url: alone.URL("accounts"), dbURL: alone.DatabaseURL(), backlog: accountsBacklogQuery},
		{Name: "hand-written net/http + pgx", url: hw.URL, dbURL: hw.DB},
	}
	as := [][]string{pAll.customer, pAlone.customer, pAll.customer}
	if configs[0].ids, err = openAccounts(e.ctx, pAll, configs[0].url, e.p.BaselineAccounts, ""); err != nil {
		return s, err
	}
	if configs[1].ids, err = openAccounts(e.ctx, pAlone, configs[1].url, e.p.BaselineAccounts, ""); err != nil {
		return s, err
	}
	for n := 1; n <= e.p.BaselineAccounts; n++ {
		configs[2].ids = append(configs[2].ids, fmt.Sprintf("00000000-0000-4000-8000-%012d", n))
	}
	targets := make([]vegeta.Targeter, len(configs))
	for i, c := range configs {
		targets[i] = deposits(c.url, c.ids, as[i])
		warm := load.Run(e.ctx, targets[i], load.Options{Name: "warm-up " + c.Name, Workers: 16, Duration: e.p.Warmup})
		if err := warm.Err(); err != nil {
			return s, err
		}
		if c.backlog != "" {
			if _, err := drainBy(e.ctx, c.dbURL, c.backlog, time.Minute); err != nil {
				return s, err
			}
		}
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
				sum := load.Run(e.ctx, targets[i], load.Options{
					Name: fmt.Sprintf("%s c=%d round %d", c.Name, conc, r+1), Workers: conc, Duration: e.p.DepositDuration})
				if err := sum.Err(); err != nil {
					return s, err
				}
				run := &baselineRun{Config: c.Name, Concurrency: conc, Round: r + 1, HTTP: sum, Sustained: sum.Throughput}
				if c.backlog != "" {
					b, err := drainBy(e.ctx, c.dbURL, c.backlog, 3*time.Minute)
					if err != nil {
						return s, err
					}
					run.Backlog, run.Sustained = &b, float64(sum.OK)/(sum.Seconds+b.Took.Seconds())
				}
				e.logf("  %s c=%d: %.0f deposits/s, p50 %s, p99 %s, %.0f/s sustained", c.Name, conc, sum.Throughput,
					sum.P50.Round(time.Microsecond), sum.P99.Round(time.Microsecond), run.Sustained)
				runs[c.Name][conc] = append(runs[c.Name][conc], run)
				raw = append(raw, run)
			}
		}
	}

	base := configs[len(configs)-1].Name
	// ratio is the median over rounds of f(config's run) / f(baseline's run
	// of the same round): each ratio compares runs seconds apart.
	ratio := func(name string, conc int, f func(*baselineRun) float64) float64 {
		var rs []float64
		for r, run := range runs[name][conc] {
			if b := f(runs[base][conc][r]); b > 0 {
				rs = append(rs, f(run)/b)
			}
		}
		return stats.Median(rs)
	}
	rate := func(r *baselineRun) float64 { return r.HTTP.Throughput }
	p99 := func(r *baselineRun) float64 { return float64(r.HTTP.P99) }
	sustained := func(r *baselineRun) float64 { return r.Sustained }
	t := table{Header: []string{"concurrency", "server", "deposits/s", "p50", "p99", "deposits/s ÷ baseline", "p99 ÷ baseline",
		"backlog left", "sustained deposits/s", "sustained ÷ baseline"}}
	for _, conc := range e.p.BaselineConc {
		for _, c := range configs {
			rs := runs[c.Name][conc]
			med := func(f func(*baselineRun) float64) float64 { return stats.Median(stats.Map(rs, f)) }
			row := []string{strconv.Itoa(conc), c.Name, num(med(rate)),
				msStr(time.Duration(med(func(r *baselineRun) float64 { return float64(r.HTTP.P50) }))),
				msStr(time.Duration(med(p99)))}
			if c.Name == base {
				row = append(row, "—", "—", "none (nothing relays or sends)", num(med(sustained)), "—")
			} else {
				left := fmt.Sprintf("%s events, %s emails: %s",
					num(med(func(r *baselineRun) float64 { return float64(r.Backlog.Events) })),
					num(med(func(r *baselineRun) float64 { return float64(r.Backlog.Emails) })),
					msStr(time.Duration(med(func(r *baselineRun) float64 { return float64(r.Backlog.Took) }))))
				row = append(row, times(ratio(c.Name, conc, rate)), times(ratio(c.Name, conc, p99)), left,
					num(med(sustained)), times(ratio(c.Name, conc, sustained)))
			}
			t.Rows = append(t.Rows, row)
		}
	}
	s.Tables = []table{t}
	product := configs[0].Name
	for _, conc := range e.p.BaselineConc {
		s.Targets = append(s.Targets, atLeast(fmt.Sprintf("deposits/s ÷ hand-written baseline, every module in one process, concurrency %d", conc),
			ratio(product, conc, rate), 1, "×"))
	}
	top := e.p.BaselineConc[len(e.p.BaselineConc)-1]
	s.Targets = append(s.Targets, atMost(fmt.Sprintf("p99 ÷ hand-written baseline, every module in one process, concurrency %d", top),
		ratio(product, top, p99), 1.5, "×"))
	s.Raw = map[string]any{"accounts": e.p.BaselineAccounts, "pool_size": baselinePool, "runs": raw}
	s.Method = fmt.Sprintf("Three servers run side by side on this machine, each on a database of its own: uberservice with every "+
		"module in one process (gochannel bus, default flags but `--rate-limit 0`, as in scenario 3), uberservice `--modules accounts` alone, and "+
		"`bench/handwritten`, a plain net/http + pgx server (pool of %d connections, uberservice's default `--db-pool-size`) on a "+
		"database `uberservice migrate --modules accounts` made. The hand-written server sends Postgres the statements uberservice's "+
		"deposit sends, one round trip each: the owner lookup, then BEGIN, the UPDATE of the balance with the INSERT of the ledger "+
		"row (one statement), the INSERT of the accounts.funds_deposited.v2 event into the outbox, the INSERT of the owner's email "+
		"into notifications, COMMIT; it answers 201 with the transaction. It has no authentication, no idempotency keys, no logging, "+
		"metrics or tracing, and nothing that delivers its events or sends its emails: that is the point of the comparison, the "+
		"cost of everything uberservice does around the same transaction. Load: `POST /v1/accounts/{id}/deposits` `{\"amount\":100}` "+
		"into %d accounts drawn at random, from a closed loop of N vegeta workers (as scenario 3) for %s per point; each round "+
		"measures the three one after the other (A B C A B C …, %d round(s) per concurrency) and each ratio is the median over "+
		"rounds of that round's ratio to the baseline, so that the machine's drift cancels out. After each uberservice run the "+
		"bench waits until its outbox and pending emails are empty; **sustained** counts the run's deposits over the run plus that "+
		"time. Every module's pool has %d connections, so uberservice in one process holds more connections than the baseline "+
		"(one pool per module), though only accounts' serve deposits.",
		baselinePool, e.p.BaselineAccounts, e.p.DepositDuration, e.p.Runs, baselinePool)
	return s, nil
}

// times formats a ratio as a multiple.
func times(v float64) string { return num(v) + "×" }
