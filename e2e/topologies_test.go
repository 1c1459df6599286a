package e2e

import (
	"testing"
	"time"
)

// suite is a part of the end-to-end suite that runs unchanged on any
// running system.
type suite struct {
	name string
	run  func(t *testing.T, c *cluster)
	// in says whether the suite applies to a cluster (nil: always).
	in func(c *cluster) bool
}

// suites are the end-to-end suite, in the order it runs in each topology:
// the story, the shop, their concurrency checks, then the faults that a
// split deployment meets.
func suites() []suite {
	onSystem := func(f func(*testing.T, system)) func(*testing.T, *cluster) {
		return func(t *testing.T, c *cluster) { f(t, c) }
	}
	return []suite{
		{name: "story", run: onSystem(storySuite)},
		{name: "correlation", run: onSystem(correlationSuite)},
		{name: "money-concurrency", run: onSystem(moneySuite)},
		{name: "shop", run: onSystem(shopSuite)},
		{name: "shop-concurrency", run: onSystem(shopConcurrencySuite)},
		// im stopped while accounts takes deposits: needs im in a process
		// of its own, apart from accounts and the portal.
		{name: "im-down", run: imDownSuite, in: func(c *cluster) bool { return c.alone("im") }},
		// kill -9 a module's process under load: needs more than one process.
		{name: "kill-9-under-load", run: killUnderLoadSuite, in: (*cluster).split},
	}
}

// TestTopologies runs the whole end-to-end suite in every topology: each
// topology is one cluster, started once, and its suites run one after the
// other inside it. Topologies on a shared broker each use a namespace of
// their own, so they may run beside each other and beside other test runs.
func TestTopologies(t *testing.T) {
	t.Parallel()
	for _, topo := range topologies() {
		t.Run(topo.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			c := startCluster(t, topo)
			t.Logf("%s: %d processes ready in %s", topo.name, len(c.members), time.Since(start).Round(time.Millisecond))
			for _, s := range suites() {
				if s.in != nil && !s.in(c) {
					continue
				}
				c.ensureUp(t)
				t.Run(s.name, func(t *testing.T) { s.run(t, c) })
			}
		})
	}
}
