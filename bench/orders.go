package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/uberservice/uberservice/bench/internal/load"
	"github.com/uberservice/uberservice/bench/internal/procstat"
	"github.com/uberservice/uberservice/bench/internal/stats"
	"github.com/uberservice/uberservice/internal/cluster"
)

type ordersTopology struct {
	Topology string         `json:"topology"`
	Kind     string         `json:"kind"`  // one process, before (the -before binary in one process) or split
	Shape    string         `json:"shape"` // hot: one account and one product; spread: 16 of each`
	Commands []string       `json:"commands"`
	Runs     []load.Summary `json:"runs"`
	Backlogs []backlog      `json:"backlogs"`
	CPU      []ordersCPU    `json:"cpu"` // per run
}

// ordersCPU is where the machine's CPU time went over one run.
type ordersCPU struct {
	Processes map[string]time.Duration `json:"process_cpu_ns"`  // each uberservice process, by its modules
	Postgres  time.Duration            `json:"postgres_cpu_ns"` // the backends of the deployment's database
	Broker    time.Duration            `json:"broker_cpu_ns"`   // every nats-server of the machine
	Usage     *procstat.Usage          `json:"usage"`           // the machine, and the load generator
}

// service is the CPU time of every uberservice process together.
func (u ordersCPU) service() time.Duration {
	var t time.Duration
	for _, d := range u.Processes {
		t += d
	}
	return t
}

// brokerName is the command the broker of the split deployment runs as.
const brokerName = "nats-server"

// measureCPU runs fn and returns where the CPU went meanwhile: c's processes,
// its database's backends, the broker and the machine as a whole.
func (e *env) measureCPU(c *cluster.Cluster, fn func()) (ordersCPU, error) {
	procs := c.Processes()
	broker, err := procstat.Named(brokerName)
	if err != nil {
		return ordersCPU{}, err
	}
	read := func() (own, brk []time.Duration) {
		for _, p := range procs {
			d, _ := cluster.CPUTime(p.PID()) // gone: counts as nothing more
			own = append(own, d)
		}
		for _, pid := range broker {
			d, _ := cluster.CPUTime(pid)
			brk = append(brk, d)
		}
		return own, brk
	}
	usage, err := procstat.StartUsage(e.ctx, nil, e.admin, dbName(c.DatabaseURL()))
	if err != nil {
		return ordersCPU{}, err
	}
	own0, brk0 := read()
	fn()
	own1, brk1 := read()
	if err := usage.Stop(e.ctx); err != nil {
		return ordersCPU{}, err
	}
	u := ordersCPU{Processes: map[string]time.Duration{}, Postgres: usage.Processes.Postgres, Usage: usage}
	for i, p := range procs {
		u.Processes[p.Name()] += max(own1[i]-own0[i], 0)
	}
	for i := range broker {
		u.Broker += max(brk1[i]-brk0[i], 0)
	}
	return u, nil
}

// The kinds of deployment scenario 6 measures.
const (
	ordersOne    = "one process"
	ordersBefore = "before"
	ordersSplit  = "split"
)

// ordersSetup is a deployment ordersOn measures: what to run, with what.
type ordersSetup struct {
	topo cluster.Topology
	cfg  cluster.Config
	kind string
}

// placeOrders: orders placed end to end (stock reserved, account debited,
// order paid, all before the 201) at a fixed concurrency, in one process and
// split on NATS; with -before, the binary of that revision in one process
// too, its runs interleaved with the current one's.
func placeOrders(e *env) (s *scenario, err error) {
	s = &scenario{ID: "orders", Title: "6. Orders"}
	var all []ordersTopology
	for _, spread := range []int{1, 16} {
		ones := []ordersSetup{{e.oneProcess(), e.config(), ordersOne}}
		if e.before != nil {
			ones = append(ones, ordersSetup{e.beforeOneProcess(), e.beforeConfig(), ordersBefore})
		}
		for _, setups := range [][]ordersSetup{ones, {{e.onePerModule("NATS"), e.config(), ordersSplit}}} {
			ots, err := ordersOn(e, setups, spread)
			if err != nil {
				return s, err
			}
			all = append(all, ots...)
			for _, ot := range ots {
				if spread == 1 && ot.Kind != ordersBefore {
					s.Commands = append(s.Commands, ot.Commands...)
				}
			}
		}
	}
	s.Raw = all
	find := func(shape, kind string) *ordersTopology {
		for i := range all {
			if all[i].Shape == shape && all[i].Kind == kind {
				return &all[i]
			}
		}
		return nil
	}
	rate := func(ot *ordersTopology) float64 {
		return stats.Median(stats.Map(ot.Runs, func(r load.Summary) float64 { return r.Throughput }))
	}
	// perRound is the median over rounds of a's orders/s ÷ b's in the same
	// round: a and b ran interleaved.
	perRound := func(a, b *ordersTopology) float64 {
		var rs []float64
		for r := range min(len(a.Runs), len(b.Runs)) {
			if b.Runs[r].Throughput > 0 {
				rs = append(rs, a.Runs[r].Throughput/b.Runs[r].Throughput)
			}
		}
		return stats.Median(rs)
	}
	var heads []string
	t := table{Header: []string{"accounts × products", "topology", "orders/s", "p50", "p99", "backlog drained in"}}
	for _, shape := range []string{"1 × 1", "16 × 16"} {
		one, split, prev := find(shape, ordersOne), find(shape, ordersSplit), find(shape, ordersBefore)
		for _, ot := range []*ordersTopology{one, prev, split} {
			if ot == nil {
				t.Rows = append(t.Rows, []string{shape, "before, every module in one process", notMeasuredBefore, "", "", ""})
				continue
			}
			p50 := stats.Median(stats.Map(ot.Runs, func(r load.Summary) float64 { return ms(r.P50) }))
			p99 := stats.Median(stats.Map(ot.Runs, func(r load.Summary) float64 { return ms(r.P99) }))
			t.Rows = append(t.Rows, []string{shape, ot.Topology, num(rate(ot)), num(p50) + " ms", num(p99) + " ms",
				msStr(time.Duration(stats.Median(stats.Map(ot.Backlogs, func(b backlog) float64 { return float64(b.Took) }))))})
		}
		t.Rows = append(t.Rows, []string{shape, "**split / one process**", times(rate(split) / rate(one)), "", "", ""})
		if prev != nil {
			t.Rows = append(t.Rows, []string{shape, "**one process: this binary ÷ before**", times(perRound(one, prev)), "", "", ""})
		} else {
			t.Rows = append(t.Rows, []string{shape, "**one process: this binary ÷ before**", notMeasuredBefore, "", "", ""})
		}
		heads = append(heads, fmt.Sprintf("%s: %s orders/s in one process, %s split", shape, num(rate(one)), num(rate(split))))
	}
	s.Tables = []table{t, ordersCPUTable(all)}
	s.Headline = strings.Join(heads, "; ")
	for _, shape := range []string{"16 × 16", "1 × 1"} {
		one, split, prev := find(shape, ordersOne), find(shape, ordersSplit), find(shape, ordersBefore)
		name := fmt.Sprintf("orders/s at %s, one process: this binary ÷ the -before binary", shape)
		splitName := fmt.Sprintf("orders/s at %s, split on NATS ÷ one process", shape)
		if shape == "16 × 16" {
			if prev != nil {
				s.Targets = append(s.Targets, atLeast(name, perRound(one, prev), 2, "×"))
			} else {
				s.Targets = append(s.Targets, unmeasured(name, "≥ 2×", notMeasuredBefore))
			}
			s.Targets = append(s.Targets, atLeast(splitName, rate(split)/rate(one), 0.85, "×"))
			continue
		}
		if prev != nil {
			s.Targets = append(s.Targets, reported(name, perRound(one, prev), "×"))
		} else {
			s.Targets = append(s.Targets, unmeasured(name, "none (reported)", notMeasuredBefore))
		}
		s.Targets = append(s.Targets, reported(splitName, rate(split)/rate(one), "×"))
	}
	hot, spread := find("1 × 1", ordersOne), find("16 × 16", ordersOne)
	s.Notes = fmt.Sprintf("**Reading the numbers.** Split / one process: %s× the orders with every order on one account "+
		"and one product, where the orders queue for those two rows' locks, and %s× spread over 16 of each, where the "+
		"machine's two cores are the limit. In one process an order's reserve and debit are Go calls; split, each is an HTTP "+
		"request served by another process on the same cores, and the order's events cross NATS.%s",
		num(rate(find("1 × 1", ordersSplit))/rate(hot)), num(rate(find("16 × 16", ordersSplit))/rate(spread)),
		splitBudget(spread, find("16 × 16", ordersSplit)))
	beforeText := fmt.Sprintf(" Run with `-before REV` (as `make bench` does), the binary of that revision is measured in one "+
		"process too, interleaved with the current one; this run did not (%s).", notMeasuredBefore)
	if e.before != nil {
		beforeText = fmt.Sprintf(" **Before**: the binary of `%s` (`-before %s`, built as the current one from `git archive`, "+
			"the same command line), every module in one process, is measured with the current one for each shape, on a database "+
			"of its own, set up the same way; each round measures the current binary then the before one (A B A B …), and "+
			"**this binary ÷ before** is the median over rounds of that round's ratio.", e.before.Short, e.before.Rev)
	}
	s.Method = fmt.Sprintf("`POST /v1/orders` of one unit of a product from an account, all funded and stocked far beyond the run first, "+
		"from a closed loop of %d vegeta workers for %s, %d run(s). Before each run the deployment's processes are started again "+
		"(same flags, ports and database) and warmed up (the same orders from 16 workers for %s, then the backlog drained), and "+
		"after it they are stopped, so that only the deployment measured holds connections to Postgres. The answer comes once the saga's synchronous part "+
		"is over: stock reserved in warehouse, account debited in accounts, order paid; only answers with status `paid` count. "+
		"In one process the saga's gateway calls are Go calls; split, they are HTTP calls to warehouse and accounts, and "+
		"`orders.order_paid.v1` reaches warehouse (which starts the shipment) over NATS. **1 × 1**, as the issue asks: every order "+
		"takes the same account and product, so the orders queue on those two rows' locks. **16 × 16**: each order from one of 16 "+
		"accounts for one of 16 products, drawn at random, so that the machine, not one row, is the limit. After each run the bench "+
		"waits until every outbox and pending email is empty and, split, until warehouse has handled every `orders.order_paid.v1` "+
		"NATS holds for it: **backlog drained in** counts that wait. The split deployment runs after the one-process ones, on its own; "+
		"**split / one process** is the ratio of their medians.%s The targets are at 16 × 16; the 1 × 1 ratios are reported "+
		"beside them, without a target. Medians of runs.",
		e.p.OrderConc, e.p.OrderDuration, e.p.Runs, e.p.Warmup, beforeText)
	return s, nil
}

// ordersOn measures setups for one shape, each on a database of its own
// with spread accounts and spread products funded and stocked. Each is set
// up, then parked (see park); every round measures them one after the
// other, each woken and warmed up before its run, its backlog drained and
// parked again after.
func ordersOn(e *env, setups []ordersSetup, spread int) (out []ordersTopology, err error) {
	shape := fmt.Sprintf("%d × %d", spread, spread)
	targets := make([]vegeta.Targeter, len(setups))
	clusters := make([]*cluster.Cluster, len(setups))
	for i, st := range setups {
		ot := ordersTopology{Topology: st.topo.Name, Kind: st.kind, Shape: shape}
		if err = e.waitForSlots(e.slotsFor(st.topo)); err != nil {
			return nil, err
		}
		var c *cluster.Cluster
		if c, err = e.startWith(st.topo, st.cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", st.topo.Name, err)
		}
		defer e.stop(c, &err)
		ot.Commands = []string{e.commands(c)}
		if targets[i], err = ordersSetUp(e, c, spread); err != nil {
			return nil, fmt.Errorf("%s: %w", st.topo.Name, err)
		}
		if err = e.park(c); err != nil {
			return nil, err
		}
		clusters[i] = c
		out = append(out, ot)
	}
	for r := range e.p.Runs {
		for i, st := range setups {
			if err := e.wake(clusters[i], targets[i], paid, backlogQuery); err != nil {
				return nil, fmt.Errorf("%s: %w", st.topo.Name, err)
			}
			var sum load.Summary
			cpu, err := e.measureCPU(clusters[i], func() {
				sum = load.Run(e.ctx, targets[i], load.Options{
					Name: fmt.Sprintf("%s orders run %d", st.topo.Name, r+1), Workers: e.p.OrderConc, Duration: e.p.OrderDuration, Check: paid})
			})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", st.topo.Name, err)
			}
			if err := sum.Err(); err != nil {
				return nil, fmt.Errorf("%s: %w", st.topo.Name, err)
			}
			b, err := drain(e.ctx, clusters[i], 2*time.Minute)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", st.topo.Name, err)
			}
			if err := e.park(clusters[i]); err != nil {
				return nil, err
			}
			e.logf("  %s %s run %d: %.0f orders/s, p50 %s, p99 %s; backlog drained in %s", st.topo.Name, shape, r+1, sum.Throughput,
				sum.P50.Round(time.Microsecond), sum.P99.Round(time.Microsecond), b.Took.Round(time.Millisecond))
			out[i].Runs = append(out[i].Runs, sum)
			out[i].Backlogs = append(out[i].Backlogs, b)
			out[i].CPU = append(out[i].CPU, cpu)
		}
	}
	return out, nil
}

// ordersSetUp opens spread accounts on c and funds them, creates spread
// products and stocks them, and waits for the backlog to drain; it returns
// the orders to place.
func ordersSetUp(e *env, c *cluster.Cluster, spread int) (vegeta.Targeter, error) {
	p, err := peopleOf(c)
	if err != nil {
		return nil, err
	}
	ids, err := openAccounts(e.ctx, p, c.URL("accounts"), spread, "")
	if err != nil {
		return nil, err
	}
	var skus []string
	for _, id := range ids {
		if err := deposit(e.ctx, p, c.URL("accounts"), id, 1_000_000_000_000); err != nil {
			return nil, err
		}
		sku, err := product(e.ctx, p, c.URL("warehouse"), 100, 1_000_000_000)
		if err != nil {
			return nil, err
		}
		skus = append(skus, sku)
	}
	if _, err := drain(e.ctx, c, time.Minute); err != nil {
		return nil, err
	}
	return orders(c.URL("orders"), ids, skus, p.customer), nil
}

// perOrder is the median over runs of what pick reads of a run's CPU, per
// order answered paid, in milliseconds.
func perOrder(ot *ordersTopology, pick func(ordersCPU) time.Duration) float64 {
	var v []float64
	for r, u := range ot.CPU {
		if r < len(ot.Runs) && ot.Runs[r].OK > 0 {
			v = append(v, ms(pick(u))/float64(ot.Runs[r].OK))
		}
	}
	return stats.Median(v)
}

// The readings of ordersCPU that the CPU table shows.
var (
	machineCPU = func(u ordersCPU) time.Duration { return u.Usage.MachineBusy }
	serviceCPU = ordersCPU.service
	pgCPU      = func(u ordersCPU) time.Duration { return u.Postgres }
	brokerCPU  = func(u ordersCPU) time.Duration { return u.Broker }
	loadCPU    = func(u ordersCPU) time.Duration { return u.Usage.Self }
)

// ordersCPUTable is where the machine's CPU went, per order, in each
// deployment and shape.
func ordersCPUTable(all []ordersTopology) table {
	t := table{
		Caption: "Where the CPU went over each run, in milliseconds of CPU time per order answered `paid` (medians of runs), " +
			"with the machine's cores busy beside them: the machine as a whole (every process on it, /proc/stat), the " +
			"uberservice processes (split, each by its modules), the Postgres backends of the deployment's database, the NATS " +
			"server and the load generator",
		Header: []string{"accounts × products", "topology", "machine", "uberservice", "its Postgres backends", "NATS server", "load generator", "machine cores busy"},
	}
	for i := range all {
		ot := &all[i]
		if len(ot.CPU) == 0 {
			continue
		}
		svc := num(perOrder(ot, serviceCPU))
		if len(ot.CPU[0].Processes) > 1 {
			var parts []string
			for _, name := range slices.Sorted(maps.Keys(ot.CPU[0].Processes)) {
				v := perOrder(ot, func(u ordersCPU) time.Duration { return u.Processes[name] })
				if v >= 0.005 {
					parts = append(parts, name+" "+num(v))
				}
			}
			svc += " (" + strings.Join(parts, ", ") + ")"
		}
		var busy []float64
		for _, u := range ot.CPU {
			busy = append(busy, u.Usage.MachineCores)
		}
		t.Rows = append(t.Rows, []string{ot.Shape, ot.Topology, num(perOrder(ot, machineCPU)), svc, num(perOrder(ot, pgCPU)),
			num(perOrder(ot, brokerCPU)), num(perOrder(ot, loadCPU)), num(stats.Median(busy))})
	}
	return t
}

// splitBudget says what the split deployment spends per order beyond one
// process, against what it could spend and still place 0.85× the orders on a
// machine both keep busy.
func splitBudget(one, split *ordersTopology) string {
	if one == nil || split == nil || len(one.CPU) == 0 || len(split.CPU) == 0 {
		return ""
	}
	o, sp := perOrder(one, machineCPU), perOrder(split, machineCPU)
	budget := o/0.85 - o
	return fmt.Sprintf(" **What the split costs** (16 × 16, in the CPU table): the machine spends %s ms of CPU per order in one "+
		"process and %s ms split, %s ms more: the NATS server %s ms, the Postgres backends %s ms more, the uberservice "+
		"processes %s ms more (the HTTP calls' both ends, the relays' publishes and the consumers' deliveries over NATS, "+
		"four Go runtimes), the load generator %s ms more. Where both deployments keep the machine's cores busy, orders per "+
		"second go as the inverse of the CPU per order, so split ÷ one process at 0.85× leaves the split %s ms per order "+
		"beyond one process (%s ÷ 0.85 − %s).",
		num(o), num(sp), num(sp-o), num(perOrder(split, brokerCPU)),
		num(perOrder(split, pgCPU)-perOrder(one, pgCPU)), num(perOrder(split, serviceCPU)-perOrder(one, serviceCPU)),
		num(perOrder(split, loadCPU)-perOrder(one, loadCPU)), num(budget), num(o), num(o))
}
