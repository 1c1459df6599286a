package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/uberservice/uberservice/internal/cluster"
	"github.com/uberservice/uberservice/platform/peerauth"
)

// binary is the uberservice executable built once by TestMain, and
// catalogue its modules, as `uberservice modules --format json` lists them:
// the suites run whatever modules the binary has.
var (
	binary    string
	catalogue cluster.Catalogue
	keysDir   string // the key set of every cluster of the package
)

// moduleNames are the modules of the accounts/IM story.
var moduleNames = []string{"accounts", "im", "portal"}

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "uberservice-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: temp dir: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if binary, err = cluster.Build(context.Background(), dir, cluster.BuildOptions{}); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: %v\n", err)
		return 1
	}
	if catalogue, err = cluster.ReadCatalogue(context.Background(), binary); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: %v\n", err)
		return 1
	}
	// One key set for every cluster of the package, so that the processes of
	// two clusters may call each other, as those of one deployment do.
	keysDir = filepath.Join(dir, "keys")
	if err := peerauth.Generate(keysDir, append([]string{peerauth.Operator}, catalogue.Names()...)...); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: %v\n", err)
		return 1
	}
	// No request of these tests may hang the package until go test's timeout.
	http.DefaultClient.Timeout = 15 * time.Second
	return m.Run()
}

// testPoolSize keeps each module's pool small: the suite runs many processes at
// once against one Postgres, whose default limit is 100 connections.
const testPoolSize = "4"

// config is how the tests run the binary, with extra arguments: against db,
// or a fresh database of the cluster's own when db is "", with small pools,
// and on a shared broker in a fresh namespace e2e-<random>.
func config(db string, extra ...string) cluster.Config {
	return cluster.Config{
		Binary:          binary,
		DatabaseURL:     db,
		DatabasePrefix:  "uberservice_test_",
		NamespacePrefix: "e2e",
		KeysDir:         keysDir,
		Args:            append([]string{"--db-pool-size", testPoolSize}, extra...),
	}
}

// startOne runs modules in one process on bus with cfg and returns once
// every module is ready, within 30s unless cfg says otherwise. When t ends
// the process gets SIGTERM and must exit 0; see cluster.StartTB.
func startOne(t testing.TB, bus string, modules []string, cfg cluster.Config) *cluster.Cluster {
	t.Helper()
	if cfg.ReadyTimeout == 0 {
		cfg.ReadyTimeout = 30 * time.Second
	}
	topo := cluster.Topology{Name: strings.Join(modules, "+"), Bus: bus, Processes: [][]string{modules}}
	return cluster.StartTB(t, topo, cfg)
}

// startSystem runs accounts, im and portal in one process against db, with
// extra arguments, on the in-process bus; see startOne.
func startSystem(t testing.TB, db string, extra ...string) *cluster.Cluster {
	t.Helper()
	return startOne(t, "gochannel", moduleNames, config(db, extra...))
}

// startOnNATS is startSystem with its events on the machine's NATS, for the
// tests that claim real brokers (the canary and the racing).
func startOnNATS(t testing.TB, db string, extra ...string) *cluster.Cluster {
	t.Helper()
	return startOne(t, cluster.NATSURL(), moduleNames, config(db, extra...))
}

// runToExit runs the binary with args and waits for it to exit by itself
// within timeout. When the test fails, what it wrote goes to the test log.
func runToExit(t testing.TB, timeout time.Duration, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := cluster.Command(ctx, binary, nil, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("uberservice %v did not exit within %s\nstderr:\n%s", args, timeout, tail(errOut.String()))
	}
	if cmd.ProcessState == nil {
		t.Fatalf("start uberservice %v: %v", args, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("uberservice %v\n--- stdout ---\n%s\n--- stderr ---\n%s", args, tail(out.String()), tail(errOut.String()))
		}
	})
	return cmd.ProcessState.ExitCode(), out.String(), errOut.String()
}

// must fails t at once on err: the calls of a cluster return their errors.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	ports, err := cluster.FreePorts(n)
	must(t, err)
	return ports
}

func tail(s string) string {
	const max = 64 << 10
	if len(s) > max {
		return "...(cut)...\n" + s[len(s)-max:]
	}
	return s
}

// logLines decodes the JSON lines of a captured stderr; other lines are skipped.
func logLines(stderr string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(stderr))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
