package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/uberservice/uberservice/bench/internal/load"
	"github.com/uberservice/uberservice/bench/internal/stats"
	"github.com/uberservice/uberservice/internal/cluster"
)

type ordersTopology struct {
	Topology string         `json:"topology"`
	Shape    string         `json:"shape"` // hot: one account and one product; spread: 16 of each`
	Commands []string       `json:"commands"`
	Runs     []load.Summary `json:"runs"`
	Backlogs []backlog      `json:"backlogs"`
}

// placeOrders: orders placed end to end (stock reserved, account debited,
// order paid, all before the 201) at a fixed concurrency, in one process and
// split on NATS.
func placeOrders(e *env) (s *scenario, err error) {
	s = &scenario{ID: "orders", Title: "6. Orders"}
	topos := []cluster.Topology{e.oneProcess(), e.onePerModule("NATS")}
	var all []ordersTopology
	for _, spread := range []int{1, 16} {
		for _, topo := range topos {
			ot, err := ordersOn(e, topo, spread)
			if err != nil {
				return s, fmt.Errorf("%s: %w", topo.Name, err)
			}
			all = append(all, ot)
			if spread == 1 {
				s.Commands = append(s.Commands, ot.Commands...)
			}
		}
	}
	s.Raw = all
	var heads []string
	t := table{Header: []string{"accounts × products", "topology", "orders/s", "p50", "p99", "backlog drained in"}}
	for i, ot := range all {
		rate := stats.Median(stats.Map(ot.Runs, func(r load.Summary) float64 { return r.Throughput }))
		p50 := stats.Median(stats.Map(ot.Runs, func(r load.Summary) float64 { return ms(r.P50) }))
		p99 := stats.Median(stats.Map(ot.Runs, func(r load.Summary) float64 { return ms(r.P99) }))
		t.Rows = append(t.Rows, []string{ot.Shape, ot.Topology, num(rate), num(p50) + " ms", num(p99) + " ms", msStr(time.Duration(stats.Median(stats.Map(ot.Backlogs, func(b backlog) float64 { return float64(b.Took) }))))})
		if i%2 == 1 {
			prev := stats.Median(stats.Map(all[i-1].Runs, func(r load.Summary) float64 { return r.Throughput }))
			t.Rows = append(t.Rows, []string{ot.Shape, "**split / one process**", num(rate/prev) + "×", "", "", ""})
			heads = append(heads, fmt.Sprintf("%s: %s orders/s in one process, %s split", ot.Shape, num(prev), num(rate)))
		}
	}
	s.Tables = []table{t}
	s.Headline = strings.Join(heads, "; ")
	if len(all) == 4 {
		rate := func(i int) float64 {
			return stats.Median(stats.Map(all[i].Runs, func(r load.Summary) float64 { return r.Throughput }))
		}
		s.Notes = fmt.Sprintf("**Reading the numbers.** Split / one process: %s× the orders with every order on one account "+
			"and one product, where the orders queue for those two rows' locks, and %s× spread over 16 of each, where the "+
			"machine's two cores are the limit. In one process an order's reserve and debit are Go calls; split, each is an HTTP "+
			"request served by another process on the same cores, and the order's events cross NATS.",
			num(rate(1)/rate(0)), num(rate(3)/rate(2)))
	}
	s.Method = fmt.Sprintf("`POST /v1/orders` of one unit of a product from an account, all funded and stocked far beyond the run first, "+
		"from a closed loop of %d vegeta workers for %s, %d run(s) after a warm-up. The answer comes once the saga's synchronous part "+
		"is over: stock reserved in warehouse, account debited in accounts, order paid; only answers with status `paid` count. "+
		"In one process the saga's gateway calls are Go calls; split, they are HTTP calls to warehouse and accounts, and "+
		"`orders.order_paid.v1` reaches warehouse (which starts the shipment) over NATS. **1 × 1**, as the issue asks: every order "+
		"takes the same account and product, so the orders queue on those two rows' locks. **16 × 16**: each order from one of 16 "+
		"accounts for one of 16 products, drawn at random, so that the machine, not one row, is the limit. After each run the bench "+
		"waits until every outbox and pending email is empty. No target was set; medians of runs.",
		e.p.OrderConc, e.p.OrderDuration, e.p.Runs)
	return s, nil
}

func ordersOn(e *env, topo cluster.Topology, spread int) (ot ordersTopology, err error) {
	ot.Topology, ot.Shape = topo.Name, fmt.Sprintf("%d × %d", spread, spread)
	c, err := e.start(topo)
	if err != nil {
		return ot, err
	}
	defer e.stop(c, &err)
	ot.Commands = []string{e.commands(c)}
	p, err := peopleOf(c)
	if err != nil {
		return ot, err
	}
	ids, err := openAccounts(e.ctx, p, c.URL("accounts"), spread, "")
	if err != nil {
		return ot, err
	}
	var skus []string
	for _, id := range ids {
		if err := deposit(e.ctx, p, c.URL("accounts"), id, 1_000_000_000_000); err != nil {
			return ot, err
		}
		sku, err := product(e.ctx, p, c.URL("warehouse"), 100, 1_000_000_000)
		if err != nil {
			return ot, err
		}
		skus = append(skus, sku)
	}
	targets := orders(c.URL("orders"), ids, skus, p.customer)
	warm := load.Run(e.ctx, targets, load.Options{Name: "warm-up", Workers: e.p.OrderConc, Duration: e.p.Warmup, Check: paid})
	if err := warm.Err(); err != nil {
		return ot, err
	}
	if _, err := drain(e.ctx, c.DatabaseURL(), time.Minute); err != nil {
		return ot, err
	}
	for r := range e.p.Runs {
		sum := load.Run(e.ctx, targets, load.Options{
			Name: fmt.Sprintf("orders run %d", r+1), Workers: e.p.OrderConc, Duration: e.p.OrderDuration, Check: paid})
		if err := sum.Err(); err != nil {
			return ot, err
		}
		b, err := drain(e.ctx, c.DatabaseURL(), 2*time.Minute)
		if err != nil {
			return ot, err
		}
		e.logf("  %s run %d: %.0f orders/s, p50 %s, p99 %s; backlog drained in %s", topo.Name, r+1, sum.Throughput,
			sum.P50.Round(time.Microsecond), sum.P99.Round(time.Microsecond), b.Took.Round(time.Millisecond))
		ot.Runs = append(ot.Runs, sum)
		ot.Backlogs = append(ot.Backlogs, b)
	}
	return ot, nil
}
