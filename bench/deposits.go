package main

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uberservice/uberservice/bench/internal/load"
	"github.com/uberservice/uberservice/bench/internal/pgbench"
	"github.com/uberservice/uberservice/bench/internal/procstat"
	"github.com/uberservice/uberservice/bench/internal/stats"
)

//go:embed deposit.pgbench.sql
var depositScript []byte

// depositScriptPath is where the script is in the repository, for the
// command lines of the report.
const depositScriptPath = "bench/deposit.pgbench.sql"

// seedSQL opens the accounts pgbench deposits into, with ids it can compute
// from a number, beside those the service opened.
const seedSQL = `INSERT INTO accounts.accounts (id, owner_name, email, currency, balance, status, referral_code)
SELECT ('00000000-0000-4000-8000-' || lpad(n::text, 12, '0'))::uuid, 'Bench Owner ' || n,
       'owner' || n || '@bench.example', 'USD', 0, 'active', ''
FROM generate_series(1, $1::int) AS n`

type depositRun struct {
	Concurrency int             `json:"concurrency"`
	HTTP        load.Summary    `json:"http"`
	HTTPCPU     *procstat.Usage `json:"http_cpu"`
	Backlog     backlog         `json:"backlog"` // left when the last answer came, and the time to finish it
	// Sustained is the deposits answered per second over the run and the
	// draining of its backlog: the rate the whole system kept up with.
	Sustained float64         `json:"sustained_per_second"`
	PG        pgbench.Result  `json:"pgbench"`
	PGCPU     *procstat.Usage `json:"pgbench_cpu"`
}

// depositsVsPostgres: deposits through HTTP, end to end, at several
// concurrencies, beside pgbench running the deposit's own SQL at the same
// concurrency on the same database: the ceiling.
func depositsVsPostgres(e *env) (s *scenario, err error) {
	s = &scenario{ID: "deposits", Title: "3. Deposits vs the Postgres ceiling"}
	topo := e.oneProcess()
	c, err := e.start(topo)
	if err != nil {
		return s, err
	}
	defer e.stop(c, &err)
	s.Commands = []string{e.commands(c)}
	accountsURL := c.URL("accounts")
	p, err := peopleOf(c)
	if err != nil {
		return s, err
	}
	ids, err := openAccounts(e.ctx, p, accountsURL, e.p.DepositAccounts, "")
	if err != nil {
		return s, err
	}
	warm := load.Run(e.ctx, deposits(accountsURL, ids, p.customer), load.Options{Name: "warm-up", Workers: 16, Duration: e.p.Warmup})
	if err := warm.Err(); err != nil {
		return s, err
	}
	if _, err := drain(e.ctx, c, time.Minute); err != nil {
		return s, err
	}
	runs := map[int][]*depositRun{}
	for _, conc := range e.p.DepositConc {
		if err := e.quiesce(); err != nil {
			return s, err
		}
		for r := range e.p.Runs {
			usage, err := procstat.StartUsage(e.ctx, c.PIDs(), e.admin, dbName(c.DatabaseURL()))
			if err != nil {
				return s, err
			}
			sum := load.Run(e.ctx, deposits(accountsURL, ids, p.customer), load.Options{
				Name: fmt.Sprintf("deposits c=%d run %d", conc, r+1), Workers: conc, Duration: e.p.DepositDuration})
			if err := usage.Stop(e.ctx); err != nil {
				return s, err
			}
			if err := sum.Err(); err != nil {
				return s, err
			}
			b, err := drain(e.ctx, c, 3*time.Minute)
			if err != nil {
				return s, err
			}
			sustained := float64(sum.OK) / (sum.Seconds + b.Took.Seconds())
			e.logf("  HTTP c=%d: %.0f deposits/s, p50 %s, p99 %s; backlog of %d events and %d emails drained in %s: %.0f/s sustained",
				conc, sum.Throughput, sum.P50.Round(time.Microsecond), sum.P99.Round(time.Microsecond), b.Events, b.Emails,
				b.Took.Round(time.Millisecond), sustained)
			runs[conc] = append(runs[conc], &depositRun{Concurrency: conc, HTTP: sum, HTTPCPU: usage, Backlog: b, Sustained: sustained})
		}
	}

	// pgbench, on the same database with the service stopped: its relay
	// would otherwise publish pgbench's outbox rows.
	if err := c.Shutdown(); err != nil {
		return s, err
	}
	conn, err := pgx.Connect(e.ctx, c.DatabaseURL())
	if err != nil {
		return s, err
	}
	_, err = conn.Exec(e.ctx, seedSQL, e.p.DepositAccounts)
	conn.Close(e.ctx)
	if err != nil {
		return s, fmt.Errorf("seed pgbench's accounts: %w", err)
	}
	script := filepath.Join(e.scratch, "deposit.pgbench.sql")
	if err := os.WriteFile(script, depositScript, 0o644); err != nil {
		return s, err
	}
	for _, conc := range e.p.DepositConc {
		if err := e.quiesce(); err != nil {
			return s, err
		}
		for r := range e.p.Runs {
			opts := pgbench.Options{DatabaseURL: c.DatabaseURL(), Script: script, Clients: conc, Duration: e.p.DepositDuration,
				Vars: map[string]string{"accounts": strconv.Itoa(e.p.DepositAccounts)}, SearchPath: "accounts",
				LogDir: filepath.Join(e.scratch, "pgbench")}
			usage, err := procstat.StartUsage(e.ctx, nil, "", "")
			if err != nil {
				return s, err
			}
			res, err := pgbench.Run(e.ctx, opts)
			for attempt := 1; err != nil && strings.Contains(err.Error(), "too many clients") && attempt < 5; attempt++ {
				// Someone else holds the server's connections for now.
				e.logf("  pgbench c=%d: the server has no connection slot left; trying again in 5s", conc)
				if err := e.sleep(5 * time.Second); err != nil {
					return s, err
				}
				if err := usage.Restart(e.ctx); err != nil {
					return s, err
				}
				res, err = pgbench.Run(e.ctx, opts)
			}
			if err != nil {
				return s, err
			}
			if err := usage.Stop(e.ctx); err != nil {
				return s, err
			}
			runs[conc][r].PGCPU = usage
			res.Command = strings.ReplaceAll(res.Command, "'"+c.DatabaseURL()+"'", `"$DATABASE_URL"`)
			res.Command = strings.ReplaceAll(strings.ReplaceAll(res.Command, c.DatabaseURL(), `"$DATABASE_URL"`), script, depositScriptPath)
			e.logf("  pgbench c=%d: %.0f tps, p50 %s, p99 %s", conc, res.TPS, res.P50.Round(time.Microsecond), res.P99.Round(time.Microsecond))
			runs[conc][r].PG = res
			if r == 0 {
				s.Commands = append(s.Commands, res.Command)
			}
		}
	}

	var raw []*depositRun
	t := table{Header: []string{"concurrency", "HTTP deposits/s", "p50", "p99", "pgbench tps", "p50", "p99",
		"HTTP / pgbench", "backlog left", "sustained deposits/s", "sustained / pgbench"}}
	for _, conc := range e.p.DepositConc {
		rs := runs[conc]
		raw = append(raw, rs...)
		med := func(f func(*depositRun) float64) float64 { return stats.Median(stats.Map(rs, f)) }
		medD := func(f func(*depositRun) time.Duration) string {
			return msStr(time.Duration(med(func(r *depositRun) float64 { return float64(f(r)) })))
		}
		rate, tps := med(func(r *depositRun) float64 { return r.HTTP.Throughput }), med(func(r *depositRun) float64 { return r.PG.TPS })
		sustained := med(func(r *depositRun) float64 { return r.Sustained })
		left := fmt.Sprintf("%s events, %s emails: %s", num(med(func(r *depositRun) float64 { return float64(r.Backlog.Events) })),
			num(med(func(r *depositRun) float64 { return float64(r.Backlog.Emails) })), medD(func(r *depositRun) time.Duration { return r.Backlog.Took }))
		t.Rows = append(t.Rows, []string{strconv.Itoa(conc), num(rate), medD(func(r *depositRun) time.Duration { return r.HTTP.P50 }),
			medD(func(r *depositRun) time.Duration { return r.HTTP.P99 }), num(tps),
			medD(func(r *depositRun) time.Duration { return r.PG.P50 }), medD(func(r *depositRun) time.Duration { return r.PG.P99 }),
			pct(rate / tps), left, num(sustained), pct(sustained / tps)})
		if conc >= 16 {
			s.Targets = append(s.Targets,
				atLeast(fmt.Sprintf("HTTP deposits/s / pgbench tps, concurrency %d", conc), 100*rate/tps, 70, "%"),
				atLeast(fmt.Sprintf("sustained deposits/s / pgbench tps, concurrency %d", conc), 100*sustained/tps, 70, "%"))
		}
	}
	drainRate := func(conc int) float64 {
		return stats.Median(stats.Map(runs[conc], func(r *depositRun) float64 {
			if r.Backlog.Took <= 0 {
				return 0
			}
			return float64(r.Backlog.Events) / r.Backlog.Took.Seconds()
		}))
	}
	top := e.p.DepositConc[len(e.p.DepositConc)-1]
	medOf := func(conc int, f func(*depositRun) float64) float64 { return stats.Median(stats.Map(runs[conc], f)) }
	poolNote := ""
	if len(e.p.DepositConc) >= 2 {
		prev := e.p.DepositConc[len(e.p.DepositConc)-2]
		tps := func(r *depositRun) float64 { return r.PG.TPS }
		http := func(r *depositRun) float64 { return r.HTTP.Throughput }
		if medOf(top, tps) < medOf(prev, tps) && medOf(top, http) >= medOf(prev, http) {
			poolNote = fmt.Sprintf(" pgbench opens one connection per client, and %d busy backends on %d cores do less than %d; "+
				"the service never uses more than its pool of 10 connections, which is why its ratio to pgbench rises at %d.",
				top, e.cores, prev, top)
		}
	}
	// CPU per deposit where nothing is left behind (the lowest
	// concurrency: no backlog), against Postgres's CPU per pgbench
	// transaction (the machine's busy time less pgbench's own).
	low := e.p.DepositConc[0]
	svcPer := medOf(low, func(r *depositRun) float64 { return r.HTTPCPU.Processes.Service.Seconds() / float64(r.HTTP.OK) })
	pgPer := medOf(low, func(r *depositRun) float64 { return r.HTTPCPU.Processes.Postgres.Seconds() / float64(r.HTTP.OK) })
	benchPer := medOf(low, func(r *depositRun) float64 {
		return (r.PGCPU.MachineBusy - r.PG.ClientCPU).Seconds() / float64(r.PG.Transactions)
	})
	busyHTTP := medOf(top, func(r *depositRun) float64 { return r.HTTPCPU.MachineCores })
	busyPG := medOf(top, func(r *depositRun) float64 { return r.PGCPU.MachineCores })
	notes := fmt.Sprintf("**Reading the numbers.** pgbench runs the deposit transaction alone. Behind each HTTP deposit, Postgres "+
		"also runs im's handler transaction (inbox row, manager lookup, referral check) and its share of the relay's and the mail "+
		"dispatcher's batches, while the process does the HTTP, JSON and logging work on the same cores. At concurrency %d, where "+
		"nothing is left behind, one deposit costs %s ms of CPU in the uberservice process and %s ms in its Postgres backends, against "+
		"%s ms of machine time per pgbench transaction.",
		low, num(1000*svcPer), num(1000*pgPer), num(1000*benchPer))
	if limit := 0.85 * float64(e.cores); busyHTTP >= limit && busyPG >= limit {
		notes += fmt.Sprintf(" At %d both sides keep the machine busy (%s and %s of its %d cores), so the ratio to the ceiling is "+
			"mostly that difference in CPU per deposit.", top, num(busyHTTP), num(busyPG), e.cores)
	}
	backlogTop := medOf(top, func(r *depositRun) float64 { return float64(r.Backlog.Events) })
	if backlogTop >= 100 {
		notes += fmt.Sprintf(" Under load the service also answers deposits faster than it delivers their events: the outbox relay "+
			"hands events to the bus one at a time and, on the in-process bus, waits for each consumer's transaction to commit "+
			"(`platform/messaging/outbox.go`, `BlockPublishUntilSubscriberAck`), so delivery runs at about %s events/s at "+
			"concurrency %d (the backlog's drain rate) while deposits commit in parallel, and a run of %s leaves %s events behind. "+
			"The sustained rate is the end-to-end figure the system can keep up with.",
			num(drainRate(top)), top, e.p.DepositDuration, num(backlogTop))
	}
	s.Notes = notes + poolNote
	cpu := table{Caption: "Where the CPU went (cores busy over the run, medians)",
		Header: []string{"concurrency", "HTTP: machine", "uberservice", "its Postgres backends", "vegeta", "pgbench: machine", "pgbench client"}}
	for _, conc := range e.p.DepositConc {
		rs := runs[conc]
		med := func(f func(*depositRun) float64) string { return num(stats.Median(stats.Map(rs, f))) }
		cpu.Rows = append(cpu.Rows, []string{strconv.Itoa(conc),
			med(func(r *depositRun) float64 { return r.HTTPCPU.MachineCores }),
			med(func(r *depositRun) float64 { return r.HTTPCPU.ServiceCores }),
			med(func(r *depositRun) float64 { return r.HTTPCPU.PostgresCores }),
			med(func(r *depositRun) float64 { return r.HTTPCPU.SelfCores }),
			med(func(r *depositRun) float64 { return r.PGCPU.MachineCores }),
			med(func(r *depositRun) float64 { return r.PG.ClientCPU.Seconds() / r.PGCPU.Wall.Seconds() }),
		})
	}
	s.Tables = []table{t, cpu}
	s.Raw = map[string]any{"accounts": e.p.DepositAccounts, "runs": raw, "seed_sql": seedSQL, "script": string(depositScript)}
	s.Method = fmt.Sprintf("Every module in one process (gochannel bus), default pool (`--db-pool-size 10`). "+
		"**HTTP**: `POST /v1/accounts/{id}/deposits` `{\"amount\":100}` with no Idempotency-Key, into %d accounts drawn at random, "+
		"from a closed loop of N vegeta workers (max-rate mode: each worker sends its next request when its last is answered) "+
		"for %s; deposits/s counts answered 201s from the first request sent to the last answer. "+
		"Each deposit also leaves work behind: its event in the outbox (the relay hands it to im, whose handler records the "+
		"commission in a transaction of its own) and the owner's email (the dispatcher marks it recorded, the bench running the log mailer). After each run the bench waits "+
		"until the outboxes and pending emails are empty; **backlog left** is what was pending when the last answer came and how long "+
		"it took to clear, and **sustained** counts the run's deposits over the run plus that time: the rate the whole system keeps up "+
		"with. **pgbench**: the same transaction's SQL (`%s`: UPDATE … RETURNING and INSERT ledger row in one statement, INSERT outbox row, "+
		"INSERT notification row, COMMIT) with `-M prepared -c N -j min(N,2) -T %d`, into %d other accounts of the same table, "+
		"on the same database once the service is stopped: the database's ceiling for the deposit transaction alone. Both share the "+
		"machine's %d cores with Postgres; a CHECKPOINT and a sync precede each concurrency. Median of %d run(s) per point.",
		e.p.DepositAccounts, e.p.DepositDuration, depositScriptPath, int(e.p.DepositDuration.Seconds()), e.p.DepositAccounts,
		e.cores, e.p.Runs)
	return s, nil
}
