package cluster

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
)

// catalogueOutput is what `uberservice modules --format json` prints, in
// short: im uses accounts; the portal uses accounts and, optionally, im.
const catalogueOutput = `{"modules": [
  {"name": "accounts", "port": 8081, "database": true, "uses": [],
   "publishes": ["accounts.account_created.v1", "accounts.x.v1"], "consumes": []},
  {"name": "im", "port": 8082, "database": true, "uses": [{"gateway": "accounts", "optional": false}],
   "publishes": [], "consumes": ["accounts.account_created.v1"]},
  {"name": "portal", "port": 8080, "database": false,
   "uses": [{"gateway": "accounts", "optional": false}, {"gateway": "im", "optional": true}],
   "publishes": [], "consumes": []}
]}`

func TestParseCatalogue(t *testing.T) {
	c, err := parseCatalogue([]byte(catalogueOutput))
	if err != nil {
		t.Fatal(err)
	}
	im, _ := c.Module("im")
	if !slices.Equal(c.Names(), []string{"accounts", "im", "portal"}) || im.Port != 8082 || !im.Database ||
		!slices.Equal(im.Uses, []Use{{Gateway: "accounts"}}) || len(im.Publishes) != 0 ||
		!slices.Equal(im.Consumes, []string{"accounts.account_created.v1"}) {
		t.Fatalf("parsed %+v", c)
	}
	if portal, _ := c.Module("portal"); portal.Database || !slices.Equal(portal.Uses, []Use{{Gateway: "accounts"}, {Gateway: "im", Optional: true}}) {
		t.Fatalf("portal parsed as %+v", portal)
	}
	for _, bad := range []string{"nonsense", `{"modules": []}`} {
		if _, err := parseCatalogue([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// The topologies derive from the catalogue: a sixth module is in every one
// of them without a word here.
func TestTopologiesComeFromTheCatalogue(t *testing.T) {
	cat, err := parseCatalogue([]byte(catalogueOutput))
	if err != nil {
		t.Fatal(err)
	}
	cat.Modules = append(cat.Modules, ModuleInfo{Name: "loyalty"})
	for _, c := range []struct {
		topo Topology
		want [][]string
	}{
		{OneProcess("one", "gochannel", cat), [][]string{{"accounts", "im", "portal", "loyalty"}}},
		{OnePerModule("apart", "nats://x", cat), [][]string{{"accounts"}, {"im"}, {"portal"}, {"loyalty"}}},
		{TwoProcesses("two", "postgres", cat), [][]string{{"accounts", "im"}, {"portal", "loyalty"}}},
	} {
		if !slices.EqualFunc(c.topo.Processes, c.want, slices.Equal) {
			t.Errorf("%s: processes %q, want %q", c.topo.Name, c.topo.Processes, c.want)
		}
	}
}

// plan gives each process its modules, their listen addresses, a peer for
// every module that runs elsewhere, and the shared flags.
func TestPlan(t *testing.T) {
	cat, err := parseCatalogue([]byte(catalogueOutput))
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{
		cfg:       Config{Binary: "/bin/uberservice", Args: []string{"--log-level", "warn"}},
		topo:      Topology{Bus: "nats://x:4222", Processes: [][]string{{"accounts", "im"}, {"portal"}}},
		catalogue: cat, db: "postgres://db", ns: "ns-1", keysDir: "/keys",
	}
	c.plan([]int{1001, 2001, 1002, 2002, 1003, 2003})
	want := [][]string{
		{"run", "--modules", "accounts,im", "--listen", "accounts=127.0.0.1:1001", "--internal-listen", "accounts=127.0.0.1:2001",
			"--listen", "im=127.0.0.1:1002", "--internal-listen", "im=127.0.0.1:2002",
			"--peer", "portal=http://127.0.0.1:2003",
			"--database-url", "postgres://db", "--bus", "nats://x:4222", "--keys", "/keys", "--log-format", "json", "--bus-namespace", "ns-1", "--log-level", "warn"},
		{"run", "--modules", "portal", "--listen", "portal=127.0.0.1:1003", "--internal-listen", "portal=127.0.0.1:2003",
			"--peer", "accounts=http://127.0.0.1:2001", "--peer", "im=http://127.0.0.1:2002",
			"--database-url", "postgres://db", "--bus", "nats://x:4222", "--keys", "/keys", "--log-format", "json", "--bus-namespace", "ns-1", "--log-level", "warn"},
	}
	for i, p := range c.Processes() {
		if !slices.Equal(p.Args, want[i]) {
			t.Errorf("process %d args\n got %q\nwant %q", i, p.Args, want[i])
		}
	}
	if c.URL("im") != "http://127.0.0.1:1002" || c.InternalURL("im") != "http://127.0.0.1:2002" || c.URL("orders") != "" || c.Process("portal").Name() != "portal" || !c.Alone("portal") || c.Alone("im") {
		t.Errorf("URL, Process or Alone wrong")
	}
}

func TestProcfs(t *testing.T) {
	rss, err := RSS(os.Getpid())
	if err != nil || rss < 1<<20 {
		t.Fatalf("RSS of the test = %d, %v", rss, err)
	}
	// Burn CPU until the kernel's own account of this process says 150ms,
	// however busy the machine: a wall-clock loop gets less on a loaded one.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		if time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) >= 150*time.Millisecond {
			break
		}
	}
	cpu, err := CPUTime(os.Getpid())
	if err != nil || cpu < 100*time.Millisecond {
		t.Fatalf("CPU time of the test = %s, %v", cpu, err)
	}
	if ClockTicks() <= 0 {
		t.Fatal("no clock ticks")
	}
}

// A cluster of two processes on NATS: started, reachable, stopped and
// restarted; Close drops its database and its streams.
func TestCluster(t *testing.T) {
	ctx := context.Background()
	binary := testBinary(t)
	topo := Topology{Name: "split", Bus: NATSURL(), Processes: [][]string{{"accounts", "im"}, {"portal"}}}
	c, err := Start(ctx, topo, Config{Binary: binary, NamespacePrefix: "cltest", Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if !strings.HasPrefix(c.Namespace(), "cltest-") || !c.Split() || len(c.PIDs()) != 2 || c.ReadyIn() <= 0 {
		t.Fatalf("namespace %q, split %v, pids %v, ready in %s", c.Namespace(), c.Split(), c.PIDs(), c.ReadyIn())
	}
	for _, m := range []string{"accounts", "im", "portal"} {
		resp, err := http.Get(c.URL(m) + "/readyz")
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s/readyz: %v %v", m, resp, err)
		}
		resp.Body.Close()
	}
	if rss, err := RSS(c.Process("portal").PID()); err != nil || rss == 0 {
		t.Fatalf("RSS of portal: %d, %v", rss, err)
	}
	if err := c.Stop("portal"); err != nil {
		t.Fatal(err)
	}
	if c.Process("portal").Running() || len(c.PIDs()) != 1 {
		t.Fatal("portal still running after Stop")
	}
	if took, err := c.Restart(ctx, "portal"); err != nil || took <= 0 {
		t.Fatalf("restart: %s, %v", took, err)
	}
	if code, exited := c.Process("portal").Signal(syscall.SIGINT, 25*time.Second); code != 0 || !exited {
		t.Fatalf("portal after SIGINT: code %d, exited %v; want 0, true", code, exited)
	}
	if _, err := c.Restart(ctx, "portal"); err != nil {
		t.Fatal(err)
	}
	if err := c.Kill("im"); err != nil {
		t.Fatal(err)
	}
	if code, exited := c.Process("im").Wait(time.Second); code != -1 || !exited {
		t.Fatalf("im after SIGKILL: code %d, exited %v; want -1, true", code, exited)
	}
	if err := c.EnsureUp(ctx); err != nil {
		t.Fatal(err)
	}
	if runs := c.Process("accounts").Runs(); runs != 2 || !strings.Contains(c.Logs("im"), "accounts") {
		t.Fatalf("accounts+im ran %d times; logs:\n%s", runs, c.Logs("im"))
	}

	db, ns := dbNameOf(t, c.DatabaseURL()), c.Namespace()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	expectRemoved(t, db, ns)
}

// StartTB starts a cluster for a test and, when the test ends, stops it and
// removes its database; FreshNamespace drops its namespace then. A cluster
// that cannot start fails the test.
func TestStartTB(t *testing.T) {
	binary := testBinary(t)
	var db, ns string
	var pid int
	t.Run("running", func(t *testing.T) {
		ns = FreshNamespace(t, binary, NATSURL(), "cltest")
		topo := Topology{Name: "core", Bus: NATSURL(), Processes: [][]string{{"accounts", "im"}}}
		c := StartTB(t, topo, Config{Binary: binary, Namespace: ns, ReadyPath: "/healthz"})
		if c.Namespace() != ns {
			t.Fatalf("namespace %q, want %q", c.Namespace(), ns)
		}
		db, pid = dbNameOf(t, c.DatabaseURL()), c.Process("im").PID()
	})
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("process %d still runs after its test ended", pid)
	}
	expectRemoved(t, db, ns)

	fake := &fakeTB{}
	if c := StartTB(fake, Topology{Name: "nothing"}, Config{Binary: binary}); c != nil || len(fake.fatal) != 1 || fake.cleanups != 0 {
		t.Fatalf("StartTB of a topology with no process: %v, fatal %q, %d clean-ups", c, fake.fatal, fake.cleanups)
	}
}

// fakeTB records what StartTB asks of a test.
type fakeTB struct {
	fatal    []string
	cleanups int
}

func (f *fakeTB) Helper()             {}
func (f *fakeTB) Cleanup(func())      { f.cleanups++ }
func (f *fakeTB) Logf(string, ...any) {}
func (f *fakeTB) Errorf(format string, a ...any) {
	f.fatal = append(f.fatal, fmt.Sprintf(format, a...))
}
func (f *fakeTB) Fatalf(format string, a ...any) {
	f.fatal = append(f.fatal, fmt.Sprintf(format, a...))
}
func (f *fakeTB) Failed() bool { return len(f.fatal) > 0 }

var built struct {
	once   sync.Once
	binary string
	err    error
}

// testBinary is the uberservice binary, built once for the package's tests.
func testBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "cluster-test-")
		if err != nil {
			built.err = err
			return
		}
		built.binary, built.err = Build(context.Background(), dir, BuildOptions{})
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.binary
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.binary != "" {
		os.RemoveAll(filepath.Dir(built.binary))
	}
	os.Exit(code)
}

// expectRemoved fails unless the database db is gone and NATS has no stream
// of the namespace ns left.
func expectRemoved(t *testing.T, db, ns string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", db).Scan(&exists); err != nil || exists {
		t.Fatalf("database %s still exists after Close (%v)", db, err)
	}
	nc, err := nats.Connect(NATSURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := nc.JetStream()
	if err != nil {
		t.Fatal(err)
	}
	for name := range js.StreamNames() {
		if strings.HasPrefix(name, ns+"_") {
			t.Errorf("stream %s left on NATS after Close", name)
		}
	}
}

func dbNameOf(t *testing.T, url string) string {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Database
}
