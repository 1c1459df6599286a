package main

import (
	"fmt"
	"time"

	"github.com/uberservice/uberservice/bench/internal/stats"
	"github.com/uberservice/uberservice/internal/cluster"
)

type startupRun struct {
	Empty    time.Duration `json:"empty_db_ns"`   // exec to every /readyz 200 on a new, empty database
	Warm     time.Duration `json:"migrated_ns"`   // the same, again, once the migrations are applied
	Commands []string      `json:"commands"`      // the command line
	Poll     time.Duration `json:"poll_every_ns"` // GET /readyz of every module, each this often
}

// startup: the time from exec to every module answering /readyz 200, all
// every module in one process, from an empty database and with the
// migrations already applied.
func startup(e *env) (s *scenario, err error) {
	s = &scenario{ID: "startup", Title: "2. Start-up"}
	const poll = 2 * time.Millisecond
	var runs []startupRun
	for r := range e.p.StartupRuns {
		sr, err := startupOnce(e, poll)
		if err != nil {
			return s, fmt.Errorf("run %d: %w", r+1, err)
		}
		runs = append(runs, sr)
	}
	s.Raw = runs
	s.Commands = runs[0].Commands
	empty := stats.Map(runs, func(r startupRun) float64 { return ms(r.Empty) })
	warm := stats.Map(runs, func(r startupRun) float64 { return ms(r.Warm) })
	s.Method = fmt.Sprintf("Every module in one process (gochannel bus). The clock starts just before exec and stops when the "+
		"last module's `GET /readyz` answers 200 (each module is polled every %s, all at once). "+
		"**Empty database**: a database just created, so the process creates every schema and applies every migration. "+
		"**Migrated**: the same process stopped (SIGTERM) and started again on that database. %d run(s); median, min and max.",
		poll, len(runs))
	row := func(name string, xs []float64) []string {
		return []string{name, num(stats.Median(xs)) + " ms", num(stats.Min(xs)) + " ms", num(stats.Max(xs)) + " ms"}
	}
	s.Tables = []table{{Header: []string{"database", "median", "min", "max"}, Rows: [][]string{
		row("migrations already applied", warm), row("empty", empty)}}}
	s.Targets = []target{
		atMost("ready, migrations already applied (median)", stats.Median(warm), 300, " ms"),
		atMost("ready, from an empty database (median)", stats.Median(empty), 2000, " ms"),
	}
	return s, nil
}

func startupOnce(e *env, poll time.Duration) (sr startupRun, err error) {
	sr.Poll = poll
	cfg := e.config()
	cfg.PollInterval = poll
	c, err := cluster.Start(e.ctx, e.oneProcess(), cfg)
	if err != nil {
		return sr, err
	}
	defer e.stop(c, &err)
	sr.Empty, sr.Commands = c.ReadyIn(), []string{e.commands(c)}
	if err := c.Stop("accounts"); err != nil {
		return sr, err
	}
	if sr.Warm, err = c.Restart(e.ctx, "accounts"); err != nil {
		return sr, err
	}
	e.logf("  ready in %s from an empty database, %s migrated", sr.Empty.Round(time.Millisecond), sr.Warm.Round(time.Millisecond))
	return sr, nil
}
