package cluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/peerauth"
)

// A Topology is a way to deploy the modules: which modules share a process,
// and the bus that carries events between processes.
type Topology struct {
	Name string
	// Bus is the --bus value: gochannel, nats://..., amqp://... or postgres.
	Bus string
	// Processes are the modules of each process; a module is in one at most.
	Processes [][]string
	// OwnBroker says the broker of Bus is this topology's alone: the cluster
	// then needs no namespace on it.
	OwnBroker bool
	// BrokerUsers, on NATS or RabbitMQ, has each module connect as a user of
	// its own whose permissions are its declarations, as `uberservice deploy
	// brokers` renders them: the cluster runs a NATS server of its own with
	// the rendered configuration (Bus names only the transport), or makes a
	// RabbitMQ vhost of its own on Bus's server with the rendered users. A
	// process of several modules connects as the administrator.
	BrokerUsers bool
}

// OneProcess runs every module of cat in one process on bus.
func OneProcess(name, bus string, cat Catalogue) Topology {
	return Topology{Name: name, Bus: bus, Processes: [][]string{cat.Names()}}
}

// OnePerModule runs every module of cat in a process of its own on bus.
func OnePerModule(name, bus string, cat Catalogue) Topology {
	return Topology{Name: name, Bus: bus, Processes: Each(cat.Names()...)}
}

// TwoProcesses runs the first half of cat's modules, in their order, in one
// process and the rest in another, on bus: modules that share a process and
// modules that do not, on one deployment.
func TwoProcesses(name, bus string, cat Catalogue) Topology {
	names := cat.Names()
	half := (len(names) + 1) / 2
	return Topology{Name: name, Bus: bus, Processes: [][]string{names[:half], names[half:]}}
}

// Each puts every one of modules in a process of its own.
func Each(modules ...string) [][]string {
	out := make([][]string, len(modules))
	for i, m := range modules {
		out[i] = []string{m}
	}
	return out
}

// Modules are the modules of every process, in order.
func (tp Topology) Modules() []string {
	var out []string
	for _, p := range tp.Processes {
		out = append(out, p...)
	}
	return out
}

// SharedBroker reports whether the topology's bus is a broker other
// deployments may use at the same time.
func (tp Topology) SharedBroker() bool { return !tp.OwnBroker && !tp.BrokerUsers && IsBroker(tp.Bus) }

// Config says how to run a topology.
type Config struct {
	// Binary is the uberservice executable (see Build). Required.
	Binary string
	// DatabaseURL is the database every module shares. Empty: a fresh
	// database is created on AdminURL and dropped by Close.
	DatabaseURL string
	// AdminURL is the server fresh databases are created on; default
	// AdminURL().
	AdminURL string
	// DatabasePrefix names fresh databases; default "uberservice_cluster_".
	DatabasePrefix string
	// Namespace is the --bus-namespace. Empty: on a shared broker, a fresh
	// one, NamespacePrefix-<random>, dropped from the broker by Close; on any
	// other bus, none.
	Namespace string
	// NamespacePrefix starts a fresh namespace; default "cluster".
	NamespacePrefix string
	// Args are added to the arguments of every process, after those the
	// cluster sets (so they may override them, e.g. "--log-level", "warn").
	Args []string
	// Env is added to the environment of every process (NAME=VALUE). The
	// variables the binary reads as flag fallbacks (UBERSERVICE_*,
	// DATABASE_URL) are removed from the inherited environment first.
	Env []string
	// LogDir receives one file per run of each process, with its stdout and
	// stderr. Empty: a temporary folder that Close removes, made in TempDir.
	LogDir string
	// KeysDir is the key set the processes run with (their --keys), for
	// clusters that call each other. Empty: a key set of the cluster's own,
	// which Close removes.
	KeysDir string
	// TempDir holds the temporary log folder; default os.TempDir(). A
	// folder in RAM (/dev/shm) keeps heavy logging off the disk the
	// database writes to.
	TempDir string
	// ReadyTimeout bounds the wait for every module to be ready; default
	// 60s.
	ReadyTimeout time.Duration
	// ReadyPath is what Start and Restart GET of every module until it
	// answers 200; default "/readyz". "/healthz" waits only until the
	// modules serve: for a process that is meant to stay not ready, such as
	// run --no-migrate on a database that was never migrated.
	ReadyPath string
	// PollInterval is the pause between two GETs of ReadyPath of a module;
	// default 50ms.
	PollInterval time.Duration
	// StopTimeout bounds a graceful stop (SIGTERM) before the process is
	// killed; default 25s.
	StopTimeout time.Duration
	// Logf, when set, receives what the cluster does and the errors of its
	// clean-up.
	Logf func(format string, args ...any)
}

func (cfg Config) withDefaults() Config {
	if cfg.AdminURL == "" {
		cfg.AdminURL = AdminURL()
	}
	if cfg.DatabasePrefix == "" {
		cfg.DatabasePrefix = "uberservice_cluster_"
	}
	if cfg.NamespacePrefix == "" {
		cfg.NamespacePrefix = "cluster"
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 60 * time.Second
	}
	if cfg.ReadyPath == "" {
		cfg.ReadyPath = "/readyz"
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 50 * time.Millisecond
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 25 * time.Second
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	return cfg
}

// Cluster is a topology running: one process of the binary per group of
// modules, each module on its own loopback port, the processes reaching the
// modules of the others through --peer, all on one database and one bus.
type Cluster struct {
	cfg       Config
	topo      Topology
	catalogue Catalogue
	db        string
	dropDB    func(context.Context) error
	ns        string
	dropNS    bool
	logDir    string
	ownLogDir bool
	keysDir   string            // the cluster's key set
	users     *brokerUsers      // Topology.BrokerUsers: each module's broker user
	usersDir  string            // the broker files users were made from
	ownKeys   bool              // made for the cluster, removed by Close
	addrs     map[string]string // module -> 127.0.0.1:port of its public API
	internal  map[string]string // module -> 127.0.0.1:port of its internal API
	procs     []*Process

	closeOnce sync.Once
	closeErr  error
}

var namespaceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,30}$`)

// newNamespace is a fresh --bus-namespace: prefix-<random hex>.
func newNamespace(prefix string) string { return prefix + "-" + randomHex(4) }

func checkNamespace(ns string) error {
	if !namespaceName.MatchString(ns) {
		return fmt.Errorf("cluster: namespace %q: use at most 31 lowercase letters, digits, _ and -", ns)
	}
	return nil
}

// Start starts every process of topo at once (each migrates its own modules)
// and returns once every module of every process answers /readyz 200: on a
// cross-process bus a consumer group exists from its first subscription on,
// so nothing should be published before all of them are subscribed. A port
// taken by someone else between choosing and binding it is retried with
// other ports. On error, everything Start made is removed again.
func Start(ctx context.Context, topo Topology, cfg Config) (_ *Cluster, err error) {
	var c *Cluster
	cfg = cfg.withDefaults()
	if cfg.Binary == "" {
		return nil, errors.New("cluster: Config.Binary is required")
	}
	if len(topo.Processes) == 0 {
		return nil, fmt.Errorf("cluster: topology %q has no process", topo.Name)
	}
	seen := map[string]bool{}
	for _, mods := range topo.Processes {
		if len(mods) == 0 {
			return nil, fmt.Errorf("cluster: topology %q has a process with no module", topo.Name)
		}
		for _, m := range mods {
			if seen[m] {
				return nil, fmt.Errorf("cluster: topology %q runs %s twice", topo.Name, m)
			}
			seen[m] = true
		}
	}
	catalogue, err := ReadCatalogue(ctx, cfg.Binary)
	if err != nil {
		return nil, err
	}
	for m := range seen {
		if _, ok := catalogue.Module(m); !ok {
			return nil, fmt.Errorf("cluster: topology %q: %s is not a module of %s", topo.Name, m, cfg.Binary)
		}
	}
	c = &Cluster{cfg: cfg, topo: topo, catalogue: catalogue, db: cfg.DatabaseURL, ns: cfg.Namespace}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Close())
		}
	}()
	if c.db == "" {
		if c.db, c.dropDB, err = FreshDatabase(ctx, cfg.AdminURL, cfg.DatabasePrefix); err != nil {
			return nil, err
		}
	}
	if topo.BrokerUsers {
		if c.usersDir, err = os.MkdirTemp(cfg.TempDir, "uberservice-broker-"); err != nil {
			return nil, fmt.Errorf("cluster: broker folder: %w", err)
		}
		if c.users, err = newBrokerUsers(ctx, cfg.Binary, topo.Bus, c.usersDir, catalogue); err != nil {
			return nil, err
		}
	}
	if c.ns == "" && topo.SharedBroker() {
		// Topics and groups are global on a broker: a namespace of its own
		// keeps this cluster's events and consumer groups from any other's.
		c.ns, c.dropNS = newNamespace(cfg.NamespacePrefix), true
	}
	if c.ns != "" {
		if err := checkNamespace(c.ns); err != nil {
			return nil, err
		}
	}
	if c.logDir = cfg.LogDir; c.logDir == "" {
		if c.logDir, err = os.MkdirTemp(cfg.TempDir, "uberservice-cluster-"); err != nil {
			return nil, fmt.Errorf("cluster: log folder: %w", err)
		}
		c.ownLogDir = true
	} else if err := os.MkdirAll(c.logDir, 0o755); err != nil {
		return nil, fmt.Errorf("cluster: log folder: %w", err)
	}
	// One key set for the cluster's processes, as a deployment has: each
	// module calls the others with its own key and verifies them with theirs.
	if c.keysDir = cfg.KeysDir; c.keysDir == "" {
		if c.keysDir, err = os.MkdirTemp(cfg.TempDir, "uberservice-keys-"); err != nil {
			return nil, fmt.Errorf("cluster: key folder: %w", err)
		}
		c.ownKeys = true
		if err := peerauth.Generate(c.keysDir, append([]string{peerauth.Operator}, c.catalogue.Names()...)...); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
	}
	for attempt := 1; ; attempt++ {
		ports, err := FreePorts(2 * len(seen))
		if err != nil {
			return nil, err
		}
		c.plan(ports)
		err = c.startAll(ctx)
		if err == nil {
			return c, nil
		}
		busy := false
		var logs []string
		for _, p := range c.procs {
			if r := p.current(); r != nil && !r.exited() {
				_ = r.cmd.Process.Kill()
				<-r.done
			}
			p.release() // the next attempt plans other ports
			out := p.Logs()
			busy = busy || strings.Contains(out, "cannot listen")
			logs = append(logs, fmt.Sprintf("--- process %s: %s\n%s", p.Name(), p.CommandLine(), tail(out, 16<<10)))
		}
		if !busy || attempt == 3 || ctx.Err() != nil {
			return nil, fmt.Errorf("cluster: topology %s did not become ready: %w\n%s", topo.Name, err, strings.Join(logs, "\n"))
		}
		cfg.Logf("cluster %s: a port was taken (attempt %d); trying other ports", topo.Name, attempt)
	}
}

// plan gives every module its two ports, public and internal, and builds
// each process's arguments.
func (c *Cluster) plan(ports []int) {
	c.addrs, c.internal = map[string]string{}, map[string]string{}
	for i, m := range c.topo.Modules() {
		c.addrs[m] = fmt.Sprintf("127.0.0.1:%d", ports[2*i])
		c.internal[m] = fmt.Sprintf("127.0.0.1:%d", ports[2*i+1])
	}
	c.procs = nil
	for _, mods := range c.topo.Processes {
		args := []string{"run", "--modules", strings.Join(mods, ",")}
		for _, m := range mods {
			args = append(args, "--listen", m+"="+c.addrs[m], "--internal-listen", m+"="+c.internal[m])
		}
		// Every module deployed elsewhere is a peer, as the Kubernetes base
		// has it: the gateways a module calls are among them, and the
		// console shows every module, whose gateway it calls or not.
		var peers []string
		for _, dep := range c.topo.Modules() {
			if !slices.Contains(mods, dep) {
				peers = append(peers, dep)
			}
		}
		slices.Sort(peers)
		for _, dep := range peers {
			args = append(args, "--peer", dep+"=http://"+c.internal[dep])
		}
		bus := c.topo.Bus
		if c.users != nil {
			bus = c.users.url(mods)
		}
		args = append(args, "--database-url", c.db, "--bus", bus, "--keys", c.keysDir, "--log-format", "json")
		if c.ns != "" {
			args = append(args, "--bus-namespace", c.ns)
		}
		args = append(args, c.cfg.Args...)
		c.procs = append(c.procs, &Process{Modules: slices.Clone(mods), Args: args, c: c})
	}
}

// startAll starts every process at once and waits for all their modules.
func (c *Cluster) startAll(ctx context.Context) error {
	runs := make([]*run, len(c.procs))
	for i, p := range c.procs {
		r, err := p.start()
		if err != nil {
			return err
		}
		runs[i] = r
	}
	errs := make([]error, len(c.procs))
	var wg sync.WaitGroup
	for i, p := range c.procs {
		wg.Go(func() {
			if err := runs[i].waitReady(ctx, c.addrsOf(p), c.cfg); err != nil {
				errs[i] = fmt.Errorf("process %s: %w", p.Name(), err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (c *Cluster) addrsOf(p *Process) map[string]string {
	out := map[string]string{}
	for _, m := range p.Modules {
		out[m] = c.addrs[m]
	}
	return out
}

// Topology is the topology the cluster runs.
func (c *Cluster) Topology() Topology { return c.topo }

// Bus is the bus the cluster runs on, as its administrator reaches it: the
// topology's Bus, or with BrokerUsers the server or vhost of the cluster's
// own, with the administrator's credentials.
func (c *Cluster) Bus() string {
	if c.users != nil {
		return c.users.admin
	}
	return c.topo.Bus
}

// BusURL is the bus as module's own broker user reaches it, with
// BrokerUsers; otherwise Bus.
func (c *Cluster) BusURL(module string) string {
	if c.users != nil {
		return c.users.urls[module]
	}
	return c.topo.Bus
}

// URL is the base URL of module's public API, e.g. http://127.0.0.1:41234; "" when the
// topology does not deploy it.
func (c *Cluster) URL(module string) string {
	if addr, ok := c.addrs[module]; ok {
		return "http://" + addr
	}
	return ""
}

// Operator is the Authorization header of an operator of the cluster, for
// its ops routes: what `uberservice keys token` prints, as a header.
func (c *Cluster) Operator() ([]string, error) {
	return c.bearer(peerauth.Operator, peerauth.OpsAudience, peerauth.Operator)
}

// As is the Authorization header of module calling gateway, for a test that
// speaks to a gateway as that module would.
func (c *Cluster) As(module, gateway string) ([]string, error) { return c.bearer(module, gateway) }

func (c *Cluster) bearer(name, audience string, roles ...string) ([]string, error) {
	keys, err := peerauth.Load(c.keysDir)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	signer, err := keys.Signer(name)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	token, err := signer.Mint(audience, 10*time.Minute, roles...)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return []string{"Authorization", "Bearer " + token}, nil
}

// Person is the Authorization header of a person with roles, as `uberservice
// token` prints it for the cluster's processes: a token of the development
// issuer of the cluster's key set, which they trust.
func (c *Cluster) Person(subject string, roles ...identity.Role) ([]string, error) {
	iss, err := identity.Development(c.keysDir)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	// An hour: as long as a benchmark's scenario may run on one cluster.
	token, err := iss.Mint(subject, roles, time.Hour)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return []string{"Authorization", "Bearer " + token}, nil
}

// Addr is the host:port of module's public API.
func (c *Cluster) Addr(module string) string { return c.addrs[module] }

// InternalURL is the base URL of module's internal API (its gateway and ops
// routes); "" when the topology does not deploy it.
func (c *Cluster) InternalURL(module string) string {
	if addr, ok := c.internal[module]; ok {
		return "http://" + addr
	}
	return ""
}

// DatabaseURL is the database the modules share.
func (c *Cluster) DatabaseURL() string { return c.db }

// Namespace is the --bus-namespace of the processes ("" for none).
func (c *Cluster) Namespace() string { return c.ns }

// Processes are the processes of the cluster, in the topology's order.
func (c *Cluster) Processes() []*Process { return c.procs }

// Process is the process that runs module, or nil.
func (c *Cluster) Process(module string) *Process {
	for _, p := range c.procs {
		if slices.Contains(p.Modules, module) {
			return p
		}
	}
	return nil
}

// PIDs are the process ids of the processes' current runs that have not
// exited, in the topology's order.
func (c *Cluster) PIDs() []int {
	var out []int
	for _, p := range c.procs {
		if p.Running() {
			out = append(out, p.PID())
		}
	}
	return out
}

// ReadyIn is how long the cluster's processes took, from the first exec to
// the last module answering /readyz 200, on their current runs.
func (c *Cluster) ReadyIn() time.Duration {
	var first, last time.Time
	for _, p := range c.procs {
		s, r := p.Started(), p.Ready()
		if r.IsZero() {
			return 0
		}
		if first.IsZero() || s.Before(first) {
			first = s
		}
		if r.After(last) {
			last = r
		}
	}
	return last.Sub(first)
}

// Split reports whether the cluster runs more than one process.
func (c *Cluster) Split() bool { return len(c.procs) > 1 }

// Alone reports whether module has a process to itself.
func (c *Cluster) Alone(module string) bool {
	p := c.Process(module)
	return p != nil && len(p.Modules) == 1
}

// Logs is what every run of the process of module wrote.
func (c *Cluster) Logs(module string) string {
	if p := c.Process(module); p != nil {
		return p.Logs()
	}
	return ""
}

func (c *Cluster) running(module string) (*Process, *run, error) {
	p := c.Process(module)
	if p == nil {
		return nil, nil, fmt.Errorf("cluster: %s is not deployed", module)
	}
	r := p.current()
	if r == nil {
		return p, nil, fmt.Errorf("cluster: the process of %s never started", module)
	}
	return p, r, nil
}

// Kill kills the process of module with SIGKILL, as kill -9 does, and waits
// for it to die.
func (c *Cluster) Kill(module string) error {
	p, r, err := c.running(module)
	if err != nil {
		return err
	}
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil && !r.exited() {
		return fmt.Errorf("cluster: kill -9 the process of %s: %w", p.Name(), err)
	}
	if _, ok := r.wait(10 * time.Second); !ok {
		return fmt.Errorf("cluster: the process of %s did not die within 10s of SIGKILL", p.Name())
	}
	c.cfg.Logf("killed (SIGKILL) the process of %s", p.Name())
	return nil
}

// Stop stops the process of module with SIGTERM; it must exit 0 within the
// StopTimeout.
func (c *Cluster) Stop(module string) error {
	p, r, err := c.running(module)
	if err != nil {
		return err
	}
	code, ok := r.stop(syscall.SIGTERM, c.cfg.StopTimeout)
	if !ok || code != 0 {
		return fmt.Errorf("cluster: the process of %s after SIGTERM: exited=%v code %d, want exit 0 within %s\n%s",
			p.Name(), ok, code, c.cfg.StopTimeout, tail(p.Logs(), 16<<10))
	}
	return nil
}

// Restart starts the process of module again, which must have exited, with
// the same flags and ports, and waits until its modules are ready. It
// returns how long that took, from exec to the last /readyz 200.
func (c *Cluster) Restart(ctx context.Context, module string) (time.Duration, error) {
	p, prev, err := c.running(module)
	if err != nil {
		return 0, err
	}
	if !prev.exited() {
		return 0, fmt.Errorf("cluster: restart %s: the process is still running", p.Name())
	}
	r, err := p.start()
	if err != nil {
		return 0, err
	}
	if err := r.waitReady(ctx, c.addrsOf(p), c.cfg); err != nil {
		return 0, fmt.Errorf("cluster: restart %s: %w\n%s", p.Name(), err, tail(p.Logs(), 16<<10))
	}
	took := r.ready.Sub(r.started)
	c.cfg.Logf("restarted the process of %s: ready in %s", p.Name(), took.Round(time.Millisecond))
	return took, nil
}

// EnsureUp restarts every process that is not running.
func (c *Cluster) EnsureUp(ctx context.Context) error {
	for _, p := range c.procs {
		if !p.Running() {
			c.cfg.Logf("process %s is down; starting it again", p.Name())
			if _, err := c.Restart(ctx, p.Modules[0]); err != nil {
				return err
			}
		}
	}
	return nil
}

// Shutdown stops every running process with SIGTERM, all at once, and
// reports each that does not exit 0 within the StopTimeout (it is then
// killed). The logs stay readable until Close.
func (c *Cluster) Shutdown() error {
	errs := make([]error, len(c.procs))
	var wg sync.WaitGroup
	for i, p := range c.procs {
		r := p.current()
		if r == nil || r.exited() {
			continue
		}
		wg.Go(func() {
			if code, ok := r.stop(syscall.SIGTERM, c.cfg.StopTimeout); !ok {
				errs[i] = fmt.Errorf("cluster: process %s did not exit within %s of SIGTERM (killed)", p.Name(), c.cfg.StopTimeout)
			} else if code != 0 {
				errs[i] = fmt.Errorf("cluster: process %s exited %d after SIGTERM, want 0", p.Name(), code)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close shuts the cluster down (see Shutdown) and removes what it made: the
// namespace on the broker, the fresh database and the temporary log folder.
// It returns the errors of the shutdown and of the clean-up; it is safe to
// call more than once.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		errs := []error{c.Shutdown()}
		for _, p := range c.procs {
			p.release()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c.dropNS {
			if err := DropNamespace(ctx, c.topo.Bus, c.ns, c.catalogue); err != nil {
				errs = append(errs, err)
			}
		}
		if c.users != nil {
			if err := c.users.close(); err != nil {
				errs = append(errs, err)
			}
		}
		if c.usersDir != "" {
			if err := os.RemoveAll(c.usersDir); err != nil {
				errs = append(errs, err)
			}
		}
		if c.dropDB != nil {
			if err := c.dropDB(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		if c.ownLogDir {
			if err := os.RemoveAll(c.logDir); err != nil {
				errs = append(errs, err)
			}
		}
		if c.ownKeys {
			if err := os.RemoveAll(c.keysDir); err != nil {
				errs = append(errs, err)
			}
		}
		c.closeErr = errors.Join(errs...)
		if c.closeErr != nil {
			c.cfg.Logf("cluster %s: close: %v", c.topo.Name, c.closeErr)
		}
	})
	return c.closeErr
}

// FreePorts returns n distinct loopback ports that were free a moment ago.
// Start takes its ports from here; a test takes the port of a server of its
// own beside a cluster, or of an address nobody listens on, from here too.
func FreePorts(n int) ([]int, error) {
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("cluster: find a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
