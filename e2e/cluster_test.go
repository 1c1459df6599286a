package e2e

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/uberservice/uberservice/platform/apptest"
)

// A topology is a way to deploy the modules: which modules share a process,
// and the bus that carries events between them.
type topology struct {
	name      string
	bus       string     // the --bus value
	processes [][]string // the modules of each process
	// ownBroker says the broker is the test's alone, so the cluster needs no
	// namespace on it.
	ownBroker bool
}

// topologies are the deployments every suite runs in: one process on the
// in-process bus; five processes on NATS JetStream; five on RabbitMQ; and
// accounts with im in one process, the others apart, on the Postgres bus.
func topologies() []topology {
	return []topology{
		{name: "gochannel-one-process", bus: "gochannel", processes: [][]string{allModules}},
		{name: "nats-five-processes", bus: natsURL(), processes: apart(allModules...)},
		{name: "rabbitmq-five-processes", bus: amqpURL(), processes: apart(allModules...)},
		{name: "postgres-mixed", bus: "postgres", processes: [][]string{{"accounts", "im"}, {"orders"}, {"warehouse"}, {"portal"}}},
	}
}

// natsURL and amqpURL are the brokers CI runs, shared by every test run on
// the machine.
func natsURL() string { return envOr("UBERSERVICE_TEST_NATS_URL", "nats://127.0.0.1:4222") }
func amqpURL() string {
	return envOr("UBERSERVICE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// apart puts every module in a process of its own.
func apart(modules ...string) [][]string {
	out := make([][]string, len(modules))
	for i, m := range modules {
		out[i] = []string{m}
	}
	return out
}

// sharedBroker reports whether the topology's bus is a broker other test
// runs may use at the same time.
func (tp topology) sharedBroker() bool {
	return !tp.ownBroker && (strings.HasPrefix(tp.bus, "nats://") || strings.HasPrefix(tp.bus, "amqp://"))
}

// system is a running uberservice as the suites see it: the base URL of each
// module, and the log of the process(es) that ran a module.
type system interface {
	URL(module string) string
	Logs(module string) string
}

// cluster is a topology running: one process of the real binary per group of
// modules, each listening on its own free ports, reaching the modules of the
// other processes through --peer, all on one fresh database and one bus.
type cluster struct {
	t       testing.TB // the test the cluster belongs to: its processes stop when it ends
	topo    topology
	db      string
	ns      string            // --bus-namespace on a shared broker
	addrs   map[string]string // module -> 127.0.0.1:port
	members []*member
}

// member is one process of a cluster, across its restarts.
type member struct {
	modules []string
	args    []string
	mu      sync.Mutex
	runs    []*process // every run, the current one last
}

func (m *member) current() *process {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.runs[len(m.runs)-1]
}

func (m *member) name() string { return strings.Join(m.modules, "+") }

// startCluster starts every process of topo and returns once every module
// of every process answers /readyz: on a cross-process bus a consumer group
// exists from its first subscription on, so nothing may be published before
// all of them are subscribed. The processes get SIGTERM when t ends, and must
// exit 0.
func startCluster(t testing.TB, topo topology) *cluster {
	t.Helper()
	c := &cluster{t: t, topo: topo, db: apptest.FreshDatabase(t)}
	if topo.sharedBroker() {
		// Topics and groups are global on a broker: a namespace of its own
		// keeps this cluster's events and consumer groups from any other run's.
		c.ns = "e2e-" + randomHex(4)
		t.Cleanup(func() { dropNamespace(t, topo.bus, c.ns) })
	}
	t.Cleanup(c.shutdown)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		c.plan(t, freePorts(t, len(allModules)))
		lastErr = c.startAll()
		if lastErr == nil {
			return c
		}
		busy := false
		for _, m := range c.members {
			p := m.current()
			if !p.exited() {
				_ = p.cmd.Process.Kill()
				<-p.done
			}
			busy = busy || strings.Contains(p.stderr.String(), "cannot listen")
			t.Logf("attempt %d, process %s %v:\n%s", attempt+1, m.name(), p.args, tail(p.stderr.String()))
		}
		if !busy {
			break
		}
	}
	t.Fatalf("cluster %s did not become ready: %v", topo.name, lastErr)
	return nil
}

// plan gives every module a port and builds each process's arguments.
func (c *cluster) plan(t testing.TB, ports []int) {
	t.Helper()
	c.addrs = map[string]string{}
	for i, m := range allModules {
		c.addrs[m] = fmt.Sprintf("127.0.0.1:%d", ports[i])
	}
	catalogue := modulesOf(t)
	c.members = nil
	for _, mods := range c.topo.processes {
		args := []string{"run", "--modules", strings.Join(mods, ",")}
		for _, m := range mods {
			args = append(args, "--listen", m+"="+c.addrs[m])
		}
		var peers []string
		for _, m := range mods {
			for _, dep := range catalogue[m].uses {
				if !slices.Contains(mods, dep) && !slices.Contains(peers, dep) {
					peers = append(peers, dep)
				}
			}
		}
		slices.Sort(peers)
		for _, dep := range peers {
			args = append(args, "--peer", dep+"=http://"+c.addrs[dep])
		}
		args = append(args, "--database-url", c.db, "--bus", c.topo.bus, "--log-format", "json", "--db-pool-size", testPoolSize)
		if c.ns != "" {
			args = append(args, "--bus-namespace", c.ns)
		}
		c.members = append(c.members, &member{modules: mods, args: args})
	}
}

// startAll starts every process at once (each migrates its own modules) and
// waits for every module to be ready.
func (c *cluster) startAll() error {
	for _, m := range c.members {
		p, err := spawn(c.t, nil, m.args...)
		if err != nil {
			return err
		}
		c.setAddrs(m, p)
		m.runs = append(m.runs, p)
	}
	var errs []error
	for _, m := range c.members {
		if err := m.current().waitReady(60 * time.Second); err != nil {
			errs = append(errs, fmt.Errorf("process %s: %w", m.name(), err))
		}
	}
	return errors.Join(errs...)
}

func (c *cluster) setAddrs(m *member, p *process) {
	for _, mod := range m.modules {
		p.addrs[mod] = c.addrs[mod]
	}
}

// URL is the base URL of module.
func (c *cluster) URL(module string) string { return "http://" + c.addrs[module] }

// Logs is what every run of the process of module wrote to stderr.
func (c *cluster) Logs(module string) string {
	m := c.memberOf(module)
	if m == nil {
		return ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var b strings.Builder
	for _, p := range m.runs {
		b.WriteString(p.stderr.String())
	}
	return b.String()
}

func (c *cluster) memberOf(module string) *member {
	for _, m := range c.members {
		if slices.Contains(m.modules, module) {
			return m
		}
	}
	return nil
}

// split reports whether the cluster runs more than one process.
func (c *cluster) split() bool { return len(c.members) > 1 }

// alone reports whether module has a process to itself.
func (c *cluster) alone(module string) bool {
	m := c.memberOf(module)
	return m != nil && len(m.modules) == 1
}

// Kill kills the process of module with SIGKILL, as kill -9 does.
func (c *cluster) Kill(t testing.TB, module string) {
	t.Helper()
	p := c.memberOf(module).current()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !p.exited() {
		t.Fatalf("kill -9 the process of %s: %v", module, err)
	}
	if _, ok := p.wait(10 * time.Second); !ok {
		t.Fatalf("the process of %s did not die within 10s of SIGKILL", module)
	}
	t.Logf("killed (SIGKILL) the process of %s", c.memberOf(module).name())
}

// Stop stops the process of module with SIGTERM; it must exit 0.
func (c *cluster) Stop(t testing.TB, module string) {
	t.Helper()
	p := c.memberOf(module).current()
	code, ok := p.stop(syscall.SIGTERM, 25*time.Second)
	if !ok || code != 0 {
		t.Fatalf("the process of %s after SIGTERM: exited=%v code %d, want exit 0 within 25s\n%s", module, ok, code, tail(p.stderr.String()))
	}
}

// Restart starts the process of module again, with the same flags and ports,
// and waits until its modules are ready.
func (c *cluster) Restart(t testing.TB, module string) {
	t.Helper()
	m := c.memberOf(module)
	if prev := m.current(); !prev.exited() {
		t.Fatalf("restart %s: the process is still running", m.name())
	}
	start := time.Now()
	p, err := spawn(c.t, nil, m.args...)
	if err != nil {
		t.Fatal(err)
	}
	c.setAddrs(m, p)
	m.mu.Lock()
	m.runs = append(m.runs, p)
	m.mu.Unlock()
	if err := p.waitReady(60 * time.Second); err != nil {
		t.Fatalf("restart %s: %v\n%s", m.name(), err, tail(p.stderr.String()))
	}
	t.Logf("restarted the process of %s: ready in %s", m.name(), time.Since(start).Round(time.Millisecond))
}

// ensureUp restarts any process that is not running, so that one failed
// suite does not take the next ones down with it.
func (c *cluster) ensureUp(t testing.TB) {
	t.Helper()
	for _, m := range c.members {
		if m.current().exited() {
			t.Logf("process %s is down; starting it again", m.name())
			c.Restart(t, m.modules[0])
		}
	}
}

// shutdown stops every running process with SIGTERM, at once, and reports
// any that does not exit 0 within 25s; when the test failed, it logs what
// every run of every process wrote.
func (c *cluster) shutdown() {
	var wg sync.WaitGroup
	for _, m := range c.members {
		p := m.current()
		if p.exited() {
			continue
		}
		wg.Go(func() {
			if code, ok := p.stop(syscall.SIGTERM, 25*time.Second); !ok {
				c.t.Errorf("process %s did not exit within 25s of SIGTERM (killed)", m.name())
			} else if code != 0 {
				c.t.Errorf("process %s exited %d after SIGTERM, want 0", m.name(), code)
			}
		})
	}
	wg.Wait()
	if c.t.Failed() {
		for _, m := range c.members {
			for i, p := range m.runs {
				c.t.Logf("process %s, run %d: uberservice %v\n--- stderr ---\n%s", m.name(), i+1, p.args, tail(p.stderr.String()))
			}
		}
	}
}

// moduleInfo is a module's row of `uberservice modules`.
type moduleInfo struct {
	uses, publishes, consumes []string
}

var catalogue struct {
	once    sync.Once
	modules map[string]moduleInfo
	err     error
}

// modulesOf is what `uberservice modules` says of every module.
func modulesOf(t testing.TB) map[string]moduleInfo {
	t.Helper()
	catalogue.once.Do(func() {
		out, err := exec.Command(binary, "modules").Output()
		if err != nil {
			catalogue.err = fmt.Errorf("uberservice modules: %w", err)
			return
		}
		list := func(s string) []string {
			if s == "-" {
				return nil
			}
			return strings.Split(s, ",")
		}
		catalogue.modules = map[string]moduleInfo{}
		for _, line := range strings.Split(string(out), "\n")[1:] {
			if f := strings.Fields(line); len(f) == 5 {
				catalogue.modules[f[0]] = moduleInfo{uses: list(f[2]), publishes: list(f[3]), consumes: list(f[4])}
			}
		}
		for _, m := range allModules {
			if _, ok := catalogue.modules[m]; !ok {
				catalogue.err = fmt.Errorf("uberservice modules does not list %s:\n%s", m, out)
			}
		}
	})
	if catalogue.err != nil {
		t.Fatal(catalogue.err)
	}
	return catalogue.modules
}

// dropNamespace removes what a cluster left on a shared broker under its
// namespace ns, and nothing else: the NATS streams (with their consumers) and
// the RabbitMQ queues and exchanges of its topics.
func dropNamespace(t testing.TB, bus, ns string) {
	switch {
	case strings.HasPrefix(bus, "nats://"):
		nc, err := nats.Connect(bus, nats.Timeout(5*time.Second))
		if err != nil {
			t.Logf("drop namespace %s on NATS: %v", ns, err)
			return
		}
		defer nc.Close()
		js, err := nc.JetStream(nats.MaxWait(5 * time.Second))
		if err != nil {
			t.Logf("drop namespace %s on NATS: %v", ns, err)
			return
		}
		var mine []string
		for name := range js.StreamNames() {
			if strings.HasPrefix(name, ns+"_") {
				mine = append(mine, name)
			}
		}
		for _, name := range mine {
			if err := js.DeleteStream(name); err != nil && !errors.Is(err, nats.ErrStreamNotFound) {
				t.Logf("drop NATS stream %s: %v", name, err)
			}
		}
	case strings.HasPrefix(bus, "amqp://"):
		conn, err := amqp.Dial(bus)
		if err != nil {
			t.Logf("drop namespace %s on RabbitMQ: %v", ns, err)
			return
		}
		defer conn.Close()
		do := func(what string, f func(*amqp.Channel) error) {
			ch, err := conn.Channel()
			if err == nil {
				err = f(ch)
				_ = ch.Close()
			}
			var ae *amqp.Error
			if err != nil && !(errors.As(err, &ae) && ae.Code == amqp.NotFound) {
				t.Logf("drop RabbitMQ %s: %v", what, err)
			}
		}
		topics := map[string]bool{}
		for name, m := range modulesOf(t) {
			for _, topic := range m.consumes {
				queue := ns + "_" + name + "." + ns + "." + topic
				do("queue "+queue, func(ch *amqp.Channel) error {
					_, err := ch.QueueDelete(queue, false, false, false)
					return err
				})
				topics[topic] = true
			}
			for _, topic := range m.publishes {
				topics[topic] = true
			}
		}
		for topic := range topics {
			exchange := ns + "." + topic
			do("exchange "+exchange, func(ch *amqp.Channel) error { return ch.ExchangeDelete(exchange, false, false) })
		}
	}
}
