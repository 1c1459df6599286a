package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uberservice/uberservice/bench/internal/load"
	"github.com/uberservice/uberservice/bench/internal/procstat"
	"github.com/uberservice/uberservice/bench/internal/stats"
	"github.com/uberservice/uberservice/internal/cluster"
)

// footprintRun is one topology's memory on one run.
type footprintRun struct {
	Topology  string        `json:"topology"`
	Bus       string        `json:"bus"`
	Processes []string      `json:"processes"`
	Pids      []int         `json:"pids"`
	Commands  []string      `json:"commands"`
	ReadyIn   time.Duration `json:"ready_in_ns"`        // exec to every /readyz 200
	Settle    time.Duration `json:"idle_settle_ns"`     // wait after ready before the idle samples
	Interval  time.Duration `json:"sample_interval_ns"` // between two samples
	IdleRaw   [][]int64     `json:"idle_samples_bytes"` // every idle sample, per process
	Idle      []int64       `json:"idle_rss_bytes"`     // per process, median of the idle samples
	IdleSum   int64         `json:"idle_rss_sum_bytes"` // sum of Idle
	Accounts  int           `json:"accounts"`           // deposited into, at random
	Conc      int           `json:"concurrency"`        // of the load
	LoadFor   time.Duration `json:"load_duration_ns"`   // of the load
	Deposits  load.Summary  `json:"deposits"`           // the load
	Samples   int           `json:"load_samples"`       // RSS samples under load
	LoadSum   int64         `json:"load_rss_sum_bytes"` // highest sum of any sample under load
	LoadPeak  []int64       `json:"load_rss_bytes"`     // per process, at the sample of the highest sum
	LoadHWM   []int64       `json:"load_max_rss_bytes"` // per process, highest sample under load
}

// footprint: the RSS of every module in one process, idle after start
// and under deposit load, against the sum over one process per module.
func footprint(e *env) (s *scenario, err error) {
	s = &scenario{ID: "footprint", Title: "1. Footprint"}
	topos := []cluster.Topology{e.oneProcess(), e.onePerModule("NATS")}
	const interval = 100 * time.Millisecond
	var runs []footprintRun
	for r := range e.p.Runs {
		for _, topo := range topos {
			fr, err := footprintOnce(e, topo, interval)
			if err != nil {
				return s, fmt.Errorf("run %d, %s: %w", r+1, topo.Name, err)
			}
			runs = append(runs, fr)
			if r == 0 {
				s.Commands = append(s.Commands, fr.Commands...)
			}
		}
	}
	s.Raw = runs

	med := func(topo string, f func(footprintRun) int64) float64 {
		var xs []float64
		for _, fr := range runs {
			if fr.Topology == topo {
				xs = append(xs, float64(f(fr)))
			}
		}
		return stats.Median(xs)
	}
	one, apart := topos[0].Name, topos[1].Name
	oneIdle, oneLoad := med(one, func(f footprintRun) int64 { return f.IdleSum }), med(one, func(f footprintRun) int64 { return f.LoadSum })
	apartIdle, apartLoad := med(apart, func(f footprintRun) int64 { return f.IdleSum }), med(apart, func(f footprintRun) int64 { return f.LoadSum })

	s.Method = fmt.Sprintf("VmRSS from `/proc/<pid>/status` of every uberservice process. **Idle**: %s after every /readyz answered 200, "+
		"the median of 5 samples %s apart, before any request. **Under load**: deposits (`POST /v1/accounts/{id}/deposits`, "+
		"%d accounts drawn at random) from a closed loop of %d vegeta workers for %s, sampled every %s; the highest sample "+
		"(for one process per module, the highest sum of one sample). That deployment runs each module alone on NATS JetStream. "+
		"Median of %d run(s), each on a fresh database.",
		e.p.FootprintSettle, interval, 100, e.p.FootprintConc, e.p.FootprintLoad, interval, e.p.Runs)

	perModule := table{Caption: "RSS per process (median of runs)", Header: []string{"process", "idle", "under load"}}
	for _, topo := range topos {
		for i, p := range topo.Processes {
			var idle, loaded []float64
			for _, fr := range runs {
				if fr.Topology == topo.Name {
					idle = append(idle, float64(fr.Idle[i]))
					loaded = append(loaded, float64(fr.LoadHWM[i]))
				}
			}
			name := fmt.Sprintf("%s: %s", topo.Name, strings.Join(p, "+"))
			perModule.Rows = append(perModule.Rows, []string{name, mbStr(stats.Median(idle)), mbStr(stats.Median(loaded))})
		}
	}
	summary := table{Caption: "Total RSS (median of runs)", Header: []string{"deployment", "idle", "under deposit load"},
		Rows: [][]string{
			{one, mbStr(oneIdle), mbStr(oneLoad)},
			{apart + ", sum", mbStr(apartIdle), mbStr(apartLoad)},
			{"one process / sum of one process per module", pct(oneIdle / apartIdle), pct(oneLoad / apartLoad)},
		}}
	s.Tables = []table{summary, perModule}
	s.Targets = []target{
		atMost("one process, idle", mb(oneIdle), 40, " MiB"),
		atMost("one process, under load", mb(oneLoad), 80, " MiB"),
		atMost("one process / sum of one process per module, idle", 100*oneIdle/apartIdle, 35, "%"),
		atMost("one process / sum of one process per module, under load", 100*oneLoad/apartLoad, 35, "%"),
	}
	return s, nil
}

func footprintOnce(e *env, topo cluster.Topology, interval time.Duration) (fr footprintRun, err error) {
	fr = footprintRun{Topology: topo.Name, Bus: topo.Bus, Settle: e.p.FootprintSettle, Interval: interval,
		Conc: e.p.FootprintConc, LoadFor: e.p.FootprintLoad, Accounts: 100}
	c, err := e.start(topo)
	if err != nil {
		return fr, err
	}
	defer e.stop(c, &err)
	fr.ReadyIn, fr.Commands, fr.Pids = c.ReadyIn(), []string{e.commands(c)}, c.PIDs()
	for _, p := range c.Processes() {
		fr.Processes = append(fr.Processes, p.Name())
	}
	if err := e.sleep(e.p.FootprintSettle); err != nil {
		return fr, err
	}
	for range 5 {
		v, err := procstat.RSS(fr.Pids)
		if err != nil {
			return fr, err
		}
		fr.IdleRaw = append(fr.IdleRaw, v)
		if err := e.sleep(interval); err != nil {
			return fr, err
		}
	}
	fr.Idle = make([]int64, len(fr.Pids))
	for i := range fr.Pids {
		var xs []float64
		for _, v := range fr.IdleRaw {
			xs = append(xs, float64(v[i]))
		}
		fr.Idle[i] = int64(stats.Median(xs))
	}
	fr.IdleSum = procstat.Sum(fr.Idle)

	p, err := peopleOf(c)
	if err != nil {
		return fr, err
	}
	ids, err := openAccounts(e.ctx, p, c.URL("accounts"), fr.Accounts, "")
	if err != nil {
		return fr, err
	}
	sampler := procstat.SampleRSS(fr.Pids, interval)
	fr.Deposits = load.Run(e.ctx, deposits(c.URL("accounts"), ids, p.customer), load.Options{
		Name: "deposits", Workers: e.p.FootprintConc, Duration: e.p.FootprintLoad})
	samples, serr := sampler.Stop()
	if err := fr.Deposits.Err(); err != nil {
		return fr, err
	}
	if serr != nil {
		return fr, serr
	}
	fr.Samples = len(samples)
	fr.LoadHWM = make([]int64, len(fr.Pids))
	for _, v := range samples {
		if sum := procstat.Sum(v); sum > fr.LoadSum {
			fr.LoadSum, fr.LoadPeak = sum, slices.Clone(v)
		}
		for j, x := range v {
			fr.LoadHWM[j] = max(fr.LoadHWM[j], x)
		}
	}
	return fr, nil
}
