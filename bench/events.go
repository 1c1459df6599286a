package main

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uberservice/uberservice/bench/internal/load"
	"github.com/uberservice/uberservice/bench/internal/procstat"
	"github.com/uberservice/uberservice/bench/internal/stats"
	"github.com/uberservice/uberservice/internal/cluster"
)

type eventRun struct {
	Deposits load.Summary `json:"deposits"`
	// LatencyMs is, per deposit, commission created_at minus ledger
	// created_at, in milliseconds.
	LatencyMs []float64 `json:"latency_ms"`
	P50       float64   `json:"p50_ms"`
	P99       float64   `json:"p99_ms"`
	Max       float64   `json:"max_ms"`
}

type eventTopology struct {
	Topology string          `json:"topology"`
	Bus      string          `json:"bus"`
	Commands []string        `json:"commands"`
	Runs     []eventRun      `json:"runs"`
	Idle     procstat.CPUUse `json:"idle"`
}

// latencyQuery is, for every deposit into account after ledger position
// seq, the time from the deposit's ledger row to the commission im recorded
// for it, in milliseconds. Both timestamps are the database's clock:
// transactions.created_at is clock_timestamp() at the ledger INSERT, the
// deposit transaction's second-last statement before its notification and
// COMMIT; commissions.created_at is now(), the start of im's handler
// transaction, which begins once the event is delivered.
const latencyQuery = `SELECT EXTRACT(EPOCH FROM (c.created_at - t.created_at)) * 1000
FROM accounts.transactions t JOIN im.commissions c ON c.transaction_id = t.id
WHERE t.account_id = $1 AND t.seq > $2 AND t.kind = 'deposit'`

// eventLatency: from the commit of a deposit to the commission in im, in
// one process and across processes on each bus; and the CPU an idle system
// uses, per topology.
func eventLatency(e *env) (s *scenario, err error) {
	s = &scenario{ID: "events", Title: "4. Event latency and idle CPU"}
	topos := []cluster.Topology{e.oneProcess(), e.onePerModule("NATS"), e.onePerModule("RabbitMQ"), e.onePerModule("Postgres")}
	var all []eventTopology
	for _, topo := range topos {
		et, err := eventsOn(e, topo)
		if err != nil {
			return s, fmt.Errorf("%s: %w", topo.Name, err)
		}
		all = append(all, et)
		s.Commands = append(s.Commands, et.Commands...)
	}
	s.Raw = all
	s.Method = fmt.Sprintf("An account opened with a manager's referral code (so im pays a commission on each of its deposits) gets "+
		"%d deposits at %d/s (vegeta, constant rate), %d run(s). Latency per deposit = `im.commissions.created_at − accounts.transactions.created_at`, "+
		"both from the database's clock: the ledger row's `clock_timestamp()` (taken inside the deposit transaction, just before its last "+
		"INSERT and COMMIT) to the `now()` of im's handler transaction (its start, once the event is delivered). "+
		"It thus spans the deposit's commit, the after-commit nudge of the outbox relay, the relay's read, the bus and the delivery; it leaves out "+
		"im's own work and commit (about a millisecond). "+
		"`track_commit_timestamp` is off on this server, so commit times themselves are not available. p50 and p99 per run, median over runs. "+
		"**Idle CPU**: %s after the last deposit, utime+stime of every uberservice process (`/proc/<pid>/stat`) over %s, as a share of one core; "+
		"beside it the Postgres backends serving the database. The brokers' own CPU is not counted.",
		e.p.EventDeposits, e.p.EventRate, e.p.EventRuns, e.p.IdleSettle, e.p.IdleWindow)
	lat := table{Header: []string{"topology", "p50", "p99", "max", "deposits"}}
	idle := table{Caption: "Idle CPU", Header: []string{"topology", "uberservice processes", "Postgres backends of the database"}}
	for _, et := range all {
		p50 := stats.Median(stats.Map(et.Runs, func(r eventRun) float64 { return r.P50 }))
		p99 := stats.Median(stats.Map(et.Runs, func(r eventRun) float64 { return r.P99 }))
		mx := stats.Max(stats.Map(et.Runs, func(r eventRun) float64 { return r.Max }))
		n := 0
		for _, r := range et.Runs {
			n += len(r.LatencyMs)
		}
		lat.Rows = append(lat.Rows, []string{et.Topology, num(p50) + " ms", num(p99) + " ms", num(mx) + " ms", fmt.Sprint(n)})
		idle.Rows = append(idle.Rows, []string{et.Topology, pct(et.Idle.ServiceCores()) + " of a core", pct(et.Idle.PostgresCores()) + " of a core"})
		switch et.Topology {
		case topos[0].Name:
			s.Targets = append(s.Targets, atMost("one process: p50", p50, 2, " ms"), atMost("one process: p99", p99, 20, " ms"))
		case topos[1].Name:
			s.Targets = append(s.Targets, atMost("NATS, one process per module: p99", p99, 50, " ms"))
		}
	}
	for _, et := range all {
		s.Targets = append(s.Targets, lessThan("idle CPU, "+et.Topology, 100*et.Idle.ServiceCores(), 1, "% of a core"))
	}
	s.Tables = []table{lat, idle}
	s.Notes = "The Postgres bus is Watermill's SQL pub/sub, which only polls. uberservice follows each publish with a " +
		"`pg_notify` naming the topic (`platform/messaging/sqlwake.go`): a subscription that finds nothing rests until its " +
		"topic's notification, polls every 50 ms for a second after activity, and otherwise asks every 5 s in case a " +
		"notification was missed. Each ask is a short transaction that locks its group's offsets row. A message also stays " +
		"invisible until every older transaction on the whole server has ended (`pg_snapshot_xmin`), so other work on the same " +
		"Postgres can delay it by a poll or more. NATS and RabbitMQ push messages: an idle system only keeps its connections alive.\n"
	return s, nil
}

func eventsOn(e *env, topo cluster.Topology) (et eventTopology, err error) {
	et = eventTopology{Topology: topo.Name, Bus: topo.Bus}
	c, err := e.start(topo)
	if err != nil {
		return et, err
	}
	defer e.stop(c, &err)
	et.Commands = []string{e.commands(c)}
	p, err := peopleOf(c)
	if err != nil {
		return et, err
	}
	_, code, err := manager(e.ctx, p, c.URL("im"))
	if err != nil {
		return et, err
	}
	ids, err := openAccounts(e.ctx, p, c.URL("accounts"), 1, code)
	if err != nil {
		return et, err
	}
	if err := waitLinked(e.ctx, c.DatabaseURL(), ids, 30*time.Second); err != nil {
		return et, err
	}
	conn, err := pgx.Connect(e.ctx, c.DatabaseURL())
	if err != nil {
		return et, err
	}
	defer conn.Close(context.WithoutCancel(e.ctx))
	if err := e.quiesce(); err != nil {
		return et, err
	}
	dur := time.Duration(e.p.EventDeposits) * time.Second / time.Duration(e.p.EventRate)
	for r := range e.p.EventRuns {
		var seq int64
		if err := conn.QueryRow(e.ctx, `SELECT COALESCE(max(seq), 0) FROM accounts.transactions WHERE account_id = $1`, ids[0]).Scan(&seq); err != nil {
			return et, err
		}
		run := eventRun{Deposits: load.Run(e.ctx, deposits(c.URL("accounts"), ids, p.customer), load.Options{
			Name: fmt.Sprintf("deposits run %d", r+1), Rate: e.p.EventRate, Duration: dur})}
		if err := run.Deposits.Err(); err != nil {
			return et, err
		}
		if err := waitZero(e.ctx, c.DatabaseURL(), `SELECT count(*) FROM accounts.transactions t
			WHERE t.account_id = $1 AND t.seq > $2 AND NOT EXISTS (SELECT 1 FROM im.commissions c WHERE c.transaction_id = t.id)`,
			[]any{ids[0], seq}, time.Minute); err != nil {
			return et, fmt.Errorf("commissions: %w", err)
		}
		rows, err := conn.Query(e.ctx, latencyQuery, ids[0], seq)
		if err != nil {
			return et, err
		}
		if run.LatencyMs, err = pgx.CollectRows(rows, pgx.RowTo[float64]); err != nil {
			return et, err
		}
		if len(run.LatencyMs) != int(run.Deposits.OK) {
			return et, fmt.Errorf("%d commissions for %d deposits", len(run.LatencyMs), run.Deposits.OK)
		}
		run.P50, run.P99, run.Max = stats.Percentile(run.LatencyMs, 50), stats.Percentile(run.LatencyMs, 99), stats.Max(run.LatencyMs)
		e.logf("  %s run %d: %d deposits, commission p50 %.2f ms, p99 %.2f ms, max %.2f ms", topo.Name, r+1, len(run.LatencyMs), run.P50, run.P99, run.Max)
		et.Runs = append(et.Runs, run)
	}
	if _, err := drain(e.ctx, c, time.Minute); err != nil {
		return et, err
	}
	if err := e.sleep(e.p.IdleSettle); err != nil {
		return et, err
	}
	meter, err := procstat.StartCPU(e.ctx, c.PIDs(), e.admin, dbName(c.DatabaseURL()))
	if err != nil {
		return et, err
	}
	if err := e.sleep(e.p.IdleWindow); err != nil {
		return et, err
	}
	if et.Idle, err = meter.Stop(e.ctx); err != nil {
		return et, err
	}
	e.logf("  %s idle: %.2f%% of a core (Postgres backends %.2f%%)", topo.Name, 100*et.Idle.ServiceCores(), 100*et.Idle.PostgresCores())
	return et, nil
}
