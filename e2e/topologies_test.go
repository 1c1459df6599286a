package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/uberservice/uberservice/internal/cluster"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// topologies are the deployments every suite runs in, of every module the
// binary lists: one process on the in-process bus; one process per module on
// NATS JetStream, and on RabbitMQ; and two processes on the Postgres bus, so
// that some modules share a process and others do not. On a broker, each
// module connects as a user of its own with the permissions `uberservice
// deploy brokers` renders: on a NATS server of the cluster's own, and on a
// vhost of its own of the RabbitMQ server CI runs.
func topologies() []cluster.Topology {
	nats := cluster.OnePerModule("nats-one-process-per-module", cluster.NATSURL(), catalogue)
	rabbitMQ := cluster.OnePerModule("rabbitmq-one-process-per-module", cluster.AMQPURL(), catalogue)
	nats.BrokerUsers, rabbitMQ.BrokerUsers = true, true
	return []cluster.Topology{
		cluster.OneProcess("gochannel-one-process", "gochannel", catalogue),
		nats,
		rabbitMQ,
		cluster.TwoProcesses("postgres-two-processes", "postgres", catalogue),
	}
}

// system is a running uberservice as the suites see it: the base URL of each
// module, the Authorization headers of the people and modules it trusts, and
// the log of the process(es) that ran a module.
type system interface {
	URL(module string) string                    // the public API
	InternalURL(module string) string            // the gateway and ops routes
	Operator() ([]string, error)                 // an operator's Authorization header
	As(module, gateway string) ([]string, error) // module's Authorization header for gateway
	// Person is the Authorization header of the person subject, with
	// roles, for the public API.
	Person(subject string, roles ...identity.Role) ([]string, error)
	Logs(module string) string
}

// operator is sys's operator's Authorization header, for its ops routes.
func operator(t testing.TB, sys system) []string {
	t.Helper()
	h, err := sys.Operator()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// person is the Authorization header of a new person of sys with roles: the
// subject is name with a random suffix, so that every run of a suite meets
// people of its own, whatever ran before on the same system (a person has
// one manager record at most, say).
func person(t testing.TB, sys system, name string, roles ...identity.Role) []string {
	t.Helper()
	return personAs(t, sys, unique(name), roles...)
}

// personAs is the Authorization header of the person subject of sys, with
// roles: for a test that needs to know the subject.
func personAs(t testing.TB, sys system, subject string, roles ...identity.Role) []string {
	t.Helper()
	h, err := sys.Person(subject, roles...)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// unique is name with a random suffix: a subject no other run uses.
func unique(name string) string { return name + "-" + randomHex(4) }

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
		{name: "boundaries", run: onSystem(boundarySuite)},
		// Who may do what, over the real processes: 401, 403 and 404.
		{name: "people", run: onSystem(peopleSuite)},
		{name: "roles", run: rolesSuite},
		{name: "brokers", run: brokerSuite, in: func(c *cluster.Cluster) bool { return c.Topology().BrokerUsers }},
		// im stopped while accounts takes deposits: needs im in a process
		// of its own, apart from accounts and the portal.
		{name: "im-down", run: imDownSuite, in: func(c *cluster.Cluster) bool { return c.Alone("im") }},
		// kill -9 a module's process under load: needs more than one process.
		{name: "kill-9-under-load", run: killUnderLoadSuite, in: (*cluster.Cluster).Split},
		// Last, whatever ran before: every module is up and nothing is dead.
		{name: "every-module", run: onSystem(everyModuleSuite)},
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

// everyModuleSuite holds every module of the binary, those no suite above
// names included, to what an operator expects after the suites: it is alive
// and ready on both its ports, its ops routes are on the internal one alone,
// and no event it consumed ended as a dead letter. The suites feed
// no poison message to a running system: every event they cause is one a
// module must handle.
func everyModuleSuite(t *testing.T, sys system) {
	for _, m := range catalogue.Modules {
		for _, path := range []string{"/healthz", "/readyz"} {
			apptest.Do(t, http.MethodGet, sys.URL(m.Name)+path, nil).Expect(t, http.StatusOK)
			apptest.Do(t, http.MethodGet, sys.InternalURL(m.Name)+path, nil).Expect(t, http.StatusOK)
		}
		if !m.Database {
			continue
		}
		var dead struct {
			Items []json.RawMessage `json:"items"`
		}
		ops := sys.InternalURL(m.Name) + "/ops/dead-letters"
		apptest.Do(t, http.MethodGet, sys.URL(m.Name)+"/ops/dead-letters", nil, operator(t, sys)...).ExpectProblem(t, http.StatusNotFound, "not_found")
		apptest.Do(t, http.MethodGet, ops, nil).ExpectProblem(t, http.StatusUnauthorized, "unauthenticated")
		apptest.Do(t, http.MethodGet, ops, nil, operator(t, sys)...).Expect(t, http.StatusOK).Decode(t, &dead)
		if dead.Items == nil || len(dead.Items) != 0 {
			t.Errorf("module %s has dead letters after the suites: %s", m.Name, dead.Items)
		}
	}
}
