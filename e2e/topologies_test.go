package e2e

import (
	"testing"
	"time"

	"github.com/uberservice/uberservice/internal/cluster"
)

// topologies are the deployments every suite runs in: one process on the
// in-process bus; five processes on NATS JetStream; five on RabbitMQ; and
// accounts with im in one process, the others apart, on the Postgres bus.
// Those on a broker share the one CI runs, each in a namespace of its own.
func topologies() []cluster.Topology {
	return []cluster.Topology{
		{Name: "gochannel-one-process", Bus: "gochannel", Processes: [][]string{cluster.AllModules}},
		cluster.Apart("nats-five-processes", cluster.NATSURL()),
		cluster.Apart("rabbitmq-five-processes", cluster.AMQPURL()),
		{Name: "postgres-mixed", Bus: "postgres", Processes: [][]string{{"accounts", "im"}, {"orders"}, {"warehouse"}, {"portal"}}},
	}
}

// system is a running uberservice as the suites see it: the base URL of each
// module, and the log of the process(es) that ran a module.
type system interface {
	URL(module string) string
	Logs(module string) string
}

// suite is a part of the end-to-end suite that runs unchanged on any
// running system.
type suite struct {
	name string
	run  func(t *testing.T, c *cluster.Cluster)
	// in says whether the suite applies to a cluster (nil: always).
	in func(c *cluster.Cluster) bool
}

// suites are the end-to-end suite, in the order it runs in each topology:
// the story, the shop, their concurrency checks, then the faults that a
// split deployment meets.
func suites() []suite {
	onSystem := func(f func(*testing.T, system)) func(*testing.T, *cluster.Cluster) {
		return func(t *testing.T, c *cluster.Cluster) { f(t, c) }
	}
	return []suite{
		{name: "story", run: onSystem(storySuite)},
		{name: "correlation", run: onSystem(correlationSuite)},
		{name: "money-concurrency", run: onSystem(moneySuite)},
		{name: "shop", run: onSystem(shopSuite)},
		{name: "shop-concurrency", run: onSystem(shopConcurrencySuite)},
		// im stopped while accounts takes deposits: needs im in a process
		// of its own, apart from accounts and the portal.
		{name: "im-down", run: imDownSuite, in: func(c *cluster.Cluster) bool { return c.Alone("im") }},
		// kill -9 a module's process under load: needs more than one process.
		{name: "kill-9-under-load", run: killUnderLoadSuite, in: (*cluster.Cluster).Split},
	}
}

// TestTopologies runs the whole end-to-end suite in every topology: each
// topology is one cluster, started once on a fresh database, and its suites
// run one after the other inside it. Topologies on a shared broker each use
// a namespace of their own, dropped at the end, so they may run beside each
// other and beside other test runs.
func TestTopologies(t *testing.T) {
	t.Parallel()
	for _, topo := range topologies() {
		t.Run(topo.Name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			c := cluster.StartTB(t, topo, config(""))
			t.Logf("%s: %d processes ready in %s", topo.Name, len(c.Processes()), time.Since(start).Round(time.Millisecond))
			for _, s := range suites() {
				if s.in != nil && !s.in(c) {
					continue
				}
				// One failed suite must not take the next ones down with it.
				if err := c.EnsureUp(t.Context()); err != nil {
					t.Fatal(err)
				}
				t.Run(s.name, func(t *testing.T) { s.run(t, c) })
			}
		})
	}
}

// restart starts the process of module again, which must have exited, and
// fails t unless its modules become ready.
func restart(t testing.TB, c *cluster.Cluster, module string) {
	t.Helper()
	_, err := c.Restart(t.Context(), module)
	must(t, err)
}
