package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binary is the uberservice executable built once by TestMain.
var binary string

// moduleNames are the modules of the accounts/IM story.
var moduleNames = []string{"accounts", "im", "portal"}

// allModules are every module of cmd/uberservice, the shop's included.
var allModules = []string{"accounts", "im", "orders", "warehouse", "portal"}

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	root, err := repoRoot()
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: find the repository root: %v\n", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "uberservice-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: temp dir: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "uberservice")
	build := exec.Command("go", "build", "-o", binary, "./cmd/uberservice")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: go build ./cmd/uberservice in %s: %v\n%s\n", root, err, out)
		return 1
	}
	// No request of these tests may hang the package until go test's timeout.
	http.DefaultClient.Timeout = 15 * time.Second
	return m.Run()
}

// repoRoot is the folder of the module's go.mod.
func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err == nil {
		if gomod := strings.TrimSpace(string(out)); gomod != "" && gomod != os.DevNull {
			return filepath.Dir(gomod), nil
		}
	}
	root, absErr := filepath.Abs("..")
	if absErr != nil {
		return "", errors.Join(err, absErr)
	}
	if _, statErr := os.Stat(filepath.Join(root, "go.mod")); statErr != nil {
		return "", errors.Join(err, statErr)
	}
	return root, nil
}

// process is one run of the binary.
type process struct {
	t      testing.TB
	args   []string
	cmd    *exec.Cmd
	stdout *lockedBuffer
	stderr *lockedBuffer
	done   chan struct{}
	addrs  map[string]string // module -> host:port it was told to listen on
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// childEnv is the test's environment without the variables the binary reads as
// flag fallbacks, so that only the flags a test passes configure it.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "UBERSERVICE_") || strings.HasPrefix(kv, "DATABASE_URL=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// launch starts the binary with args. When the test ends a process still
// running gets SIGTERM and must exit 0 within 25s; when the test failed, the
// process's stderr goes to the test log.
func launch(t testing.TB, args ...string) *process {
	t.Helper()
	return launchEnv(t, nil, args...)
}

// launchEnv is launch with env (NAME=VALUE) added to the child's environment.
func launchEnv(t testing.TB, env []string, args ...string) *process {
	t.Helper()
	p, err := spawn(t, env, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !p.exited() {
			if code, ok := p.stop(syscall.SIGTERM, 25*time.Second); !ok {
				t.Errorf("uberservice %v did not exit within 25s of SIGTERM (killed)", args)
			} else if code != 0 {
				t.Errorf("uberservice %v exited %d after SIGTERM, want 0", args, code)
			}
		}
		if t.Failed() {
			t.Logf("uberservice %v\n--- stdout ---\n%s\n--- stderr ---\n%s", args, tail(p.stdout.String()), tail(p.stderr.String()))
		}
	})
	return p
}

// spawn starts the binary with args and env (NAME=VALUE) added to the
// child's environment. Unlike launch it leaves stopping the process to the
// caller; t only receives the errors of stop and url.
func spawn(t testing.TB, env []string, args ...string) (*process, error) {
	p := &process{t: t, args: args, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, done: make(chan struct{}), addrs: map[string]string{}}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Env = append(childEnv(), env...)
	p.cmd.Stdout = p.stdout
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start uberservice %v: %w", args, err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func tail(s string) string {
	const max = 64 << 10
	if len(s) > max {
		return "...(cut)...\n" + s[len(s)-max:]
	}
	return s
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitCode is the exit code of a process that has exited (-1 when a signal
// killed it).
func (p *process) exitCode() int { return p.cmd.ProcessState.ExitCode() }

// wait waits up to timeout for the process to exit by itself; ok is false when
// it had not (it is then killed).
func (p *process) wait(timeout time.Duration) (code int, ok bool) {
	select {
	case <-p.done:
		return p.exitCode(), true
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.done
		return p.exitCode(), false
	}
}

// stop sends sig and waits up to timeout for the exit.
func (p *process) stop(sig os.Signal, timeout time.Duration) (code int, ok bool) {
	if err := p.cmd.Process.Signal(sig); err != nil && !p.exited() {
		p.t.Errorf("signal %v: %v", sig, err)
	}
	return p.wait(timeout)
}

// url is the base URL of module.
func (p *process) url(module string) string {
	addr, ok := p.addrs[module]
	if !ok {
		p.t.Fatalf("module %s was not given an address", module)
	}
	return "http://" + addr
}

// waitReady polls GET /readyz of every module given an address until each
// answers 200, the process exits, or timeout passes.
func (p *process) waitReady(timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for module := range p.addrs {
		for {
			if p.exited() {
				return fmt.Errorf("uberservice exited with code %d before %s was ready", p.exitCode(), module)
			}
			resp, err := client.Get(p.url(module) + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				status := "no answer"
				if err != nil {
					status = err.Error()
				} else {
					status = resp.Status
				}
				return fmt.Errorf("module %s not ready within %s (last: %s)", module, timeout, status)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

// runArgs are the arguments that run every module on free loopback ports
// against db with JSON logs.
func runArgs(db string, ports []int, extra ...string) (args []string, addrs map[string]string) {
	return runModuleArgs(moduleNames, db, ports, extra...)
}

// runModuleArgs are the arguments that run modules on the free loopback ports
// (one per module) against db with JSON logs.
// testPoolSize keeps each module's pool small: the suite runs many processes at
// once against one Postgres, whose default limit is 100 connections.
const testPoolSize = "4"

func runModuleArgs(modules []string, db string, ports []int, extra ...string) (args []string, addrs map[string]string) {
	addrs = map[string]string{}
	args = []string{"run", "--modules", strings.Join(modules, ",")}
	for i, m := range modules {
		addrs[m] = fmt.Sprintf("127.0.0.1:%d", ports[i])
		args = append(args, "--listen", m+"="+addrs[m])
	}
	args = append(args, "--database-url", db, "--log-format", "json", "--db-pool-size", testPoolSize)
	return append(args, extra...), addrs
}

// startSystem runs accounts, im and portal in one process against db and
// returns once every module is ready. A port taken by someone else between
// choosing it and binding it is retried with other ports.
func startSystem(t testing.TB, db string, extra ...string) *process {
	t.Helper()
	return startModules(t, db, moduleNames, nil, extra...)
}

// startModules runs modules in one process against db, with env (NAME=VALUE)
// added to its environment, and returns once every module is ready; as
// startSystem.
func startModules(t testing.TB, db string, modules, env []string, extra ...string) *process {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		args, addrs := runModuleArgs(modules, db, freePorts(t, len(modules)), extra...)
		p := launchEnv(t, env, args...)
		p.addrs = addrs
		err := p.waitReady(30 * time.Second)
		if err == nil {
			return p
		}
		lastErr = err
		if !p.exited() || !strings.Contains(p.stderr.String(), "cannot listen") {
			break
		}
	}
	t.Fatalf("uberservice did not become ready: %v", lastErr)
	return nil
}

// runToExit runs the binary with args and waits for it to exit by itself
// within timeout.
func runToExit(t testing.TB, timeout time.Duration, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	p := launch(t, args...)
	code, ok := p.wait(timeout)
	if !ok {
		t.Fatalf("uberservice %v did not exit within %s\nstderr:\n%s", args, timeout, tail(p.stderr.String()))
	}
	return code, p.stdout.String(), p.stderr.String()
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(t testing.TB, n int) []int {
	t.Helper()
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
			t.Fatalf("find a free port: %v", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
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
