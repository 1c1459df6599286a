package main

import (
	"fmt"
	"time"

	"github.com/uberservice/uberservice/bench/internal/load"
	"github.com/uberservice/uberservice/bench/internal/procstat"
	"github.com/uberservice/uberservice/bench/internal/stats"
	"github.com/uberservice/uberservice/internal/cluster"
)

type gatewayRun struct {
	Views load.Summary    `json:"views"`
	CPU   procstat.CPUUse `json:"cpu"`
	// Per answered request, in microseconds.
	ServiceCPUus  float64 `json:"service_cpu_us_per_request"`
	PostgresCPUus float64 `json:"postgres_cpu_us_per_request"`
}

type gatewayTopology struct {
	Topology string       `json:"topology"`
	Commands []string     `json:"commands"`
	Runs     []gatewayRun `json:"runs"`
}

// crossingGateway: the portal's account view, whose accounts and im lookups
// are calls in the same process when the modules share it and HTTP calls
// when they do not.
func crossingGateway(e *env) (s *scenario, err error) {
	s = &scenario{ID: "gateway", Title: "5. Crossing a gateway"}
	topos := []cluster.Topology{e.oneProcess(), e.onePerModule("NATS")}
	var all []gatewayTopology
	for _, topo := range topos {
		gt, err := gatewayOn(e, topo)
		if err != nil {
			return s, fmt.Errorf("%s: %w", topo.Name, err)
		}
		all = append(all, gt)
		s.Commands = append(s.Commands, gt.Commands...)
	}
	s.Raw = all
	type row struct{ p50, p99, cpu, pg float64 }
	rows := make([]row, len(all))
	t := table{Header: []string{"topology", "p50", "p99", "uberservice CPU / request", "Postgres CPU / request"}}
	for i, gt := range all {
		rows[i] = row{
			p50: stats.Median(stats.Map(gt.Runs, func(r gatewayRun) float64 { return ms(r.Views.P50) })),
			p99: stats.Median(stats.Map(gt.Runs, func(r gatewayRun) float64 { return ms(r.Views.P99) })),
			cpu: stats.Median(stats.Map(gt.Runs, func(r gatewayRun) float64 { return r.ServiceCPUus })),
			pg:  stats.Median(stats.Map(gt.Runs, func(r gatewayRun) float64 { return r.PostgresCPUus })),
		}
		t.Rows = append(t.Rows, []string{gt.Topology, num(rows[i].p50) + " ms", num(rows[i].p99) + " ms", num(rows[i].cpu) + " µs", num(rows[i].pg) + " µs"})
	}
	one, split := rows[0], rows[1]
	t.Rows = append(t.Rows, []string{"**split / one process**", num(split.p50/one.p50) + "×", num(split.p99/one.p99) + "×",
		num(split.cpu/one.cpu) + "×", num(split.pg/one.pg) + "×"})
	s.Tables = []table{t}
	s.Method = fmt.Sprintf("`GET /v1/portal/accounts/{id}` of %d managed accounts drawn at random, at a constant %d requests/s (vegeta) for %s, "+
		"%d run(s) after a warm-up; every answer must carry the manager and no degraded part. The portal asks accounts (`Get`) and im "+
		"(`ManagerOf`) at once: in one process both are Go calls into the modules' services; split, each is an HTTP request to the "+
		"module's process (`/gateway/accounts/v1/accounts/{id}`, `/gateway/im/v1/accounts/{id}/manager`), so one portal request is three "+
		"HTTP requests. **CPU / request** is the utime+stime of every uberservice process over the run divided by the requests answered; "+
		"the Postgres column is the same for the backends serving the database (the two SELECTs are the same in both topologies). "+
		"The split topology is one process per module on NATS (the bus plays no part here). Medians of runs.",
		e.p.GatewayAccounts, e.p.GatewayRate, e.p.GatewayDuration, e.p.GatewayRuns)
	latRatio, cpuRatio := split.p50/one.p50, split.cpu/one.cpu
	s.Headline = fmt.Sprintf("split / one process: %s× p50, %s× p99, %s× uberservice CPU per request",
		num(latRatio), num(split.p99/one.p99), num(cpuRatio))
	compare := "well below"
	if latRatio >= 15 || cpuRatio >= 9 {
		compare = "of the same order as"
	}
	s.Notes = fmt.Sprintf("**Discussion.** Split over HTTP, this request takes %s× the latency at p50 (%s× at p99) and %s× the "+
		"uberservice CPU per request of the co-located deployment; the database's share is the same two SELECTs either way. "+
		"Service Weaver's paper (Ghemawat et al., *Towards Modern Development of Cloud Applications*, HotOS 2023) reports that "+
		"running Online Boutique's components co-located instead of as microservices cut latency by up to 15× and the cores needed "+
		"by up to 9×. Our ratios are %s those. Online Boutique is eleven services whose requests cross several hops in series, each "+
		"with gRPC/protobuf serialization and a network between containers, so the saving multiplies per hop; here one portal request "+
		"crosses one hop (two calls in parallel) over loopback HTTP/1.1 with keep-alive and small JSON bodies, and the database's "+
		"work, which co-location does not remove (%s µs of Postgres CPU per request against %s µs in the co-located process), stays "+
		"the same. What splitting adds is the HTTP and JSON work of two more requests, on both of their ends, spread over three "+
		"processes instead of one.",
		num(latRatio), num(split.p99/one.p99), num(cpuRatio), compare, num(one.pg), num(one.cpu))
	return s, nil
}

func gatewayOn(e *env, topo cluster.Topology) (gt gatewayTopology, err error) {
	gt.Topology = topo.Name
	c, err := e.start(topo)
	if err != nil {
		return gt, err
	}
	defer e.stop(c, &err)
	gt.Commands = []string{e.commands(c)}
	p, err := peopleOf(c)
	if err != nil {
		return gt, err
	}
	_, code, err := manager(e.ctx, p, c.URL("im"))
	if err != nil {
		return gt, err
	}
	ids, err := openAccounts(e.ctx, p, c.URL("accounts"), e.p.GatewayAccounts, code)
	if err != nil {
		return gt, err
	}
	if err := waitLinked(e.ctx, c.DatabaseURL(), ids, 30*time.Second); err != nil {
		return gt, err
	}
	if _, err := drain(e.ctx, c, time.Minute); err != nil {
		return gt, err
	}
	targets := portalViews(c.URL("portal"), ids, p.customer)
	warm := load.Run(e.ctx, targets, load.Options{Name: "warm-up", Rate: e.p.GatewayRate, Duration: e.p.Warmup, Check: whole})
	if err := warm.Err(); err != nil {
		return gt, err
	}
	for r := range e.p.GatewayRuns {
		meter, err := procstat.StartCPU(e.ctx, c.PIDs(), e.admin, dbName(c.DatabaseURL()))
		if err != nil {
			return gt, err
		}
		run := gatewayRun{Views: load.Run(e.ctx, targets, load.Options{
			Name: fmt.Sprintf("portal views run %d", r+1), Rate: e.p.GatewayRate, Duration: e.p.GatewayDuration, Check: whole})}
		if run.CPU, err = meter.Stop(e.ctx); err != nil {
			return gt, err
		}
		if err := run.Views.Err(); err != nil {
			return gt, err
		}
		n := float64(run.Views.OK)
		run.ServiceCPUus = float64(run.CPU.Service.Microseconds()) / n
		run.PostgresCPUus = float64(run.CPU.Postgres.Microseconds()) / n
		e.logf("  %s run %d: p50 %s, p99 %s, %.0f µs CPU per request (Postgres %.0f µs)", topo.Name, r+1,
			run.Views.P50.Round(time.Microsecond), run.Views.P99.Round(time.Microsecond), run.ServiceCPUus, run.PostgresCPUus)
		gt.Runs = append(gt.Runs, run)
	}
	return gt, nil
}
