package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/uberservice/uberservice/internal/porthold"
)

// Process is one process of a cluster, across its restarts: the modules it
// runs and the flags it runs them with.
type Process struct {
	// Modules are the modules the process runs.
	Modules []string
	// Args are the binary's arguments, the same on every run.
	Args []string

	c    *Cluster
	mu   sync.Mutex
	runs []*run           // every run, the current one last
	held []*porthold.Port // the process's ports, while it is down
}

// run is one execution of the binary.
type run struct {
	cmd     *exec.Cmd
	log     string // the file that has its stdout and stderr
	done    chan struct{}
	started time.Time // just before exec
	ready   time.Time // when every module first answered /readyz 200; zero until then
}

// Name is the process's modules joined with "+", e.g. "accounts+im".
func (p *Process) Name() string { return strings.Join(p.Modules, "+") }

func (p *Process) current() *run {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.runs) == 0 {
		return nil
	}
	return p.runs[len(p.runs)-1]
}

// PID is the process id of the current run; 0 before the first.
func (p *Process) PID() int {
	r := p.current()
	if r == nil || r.cmd.Process == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

// Running reports whether the current run has not exited.
func (p *Process) Running() bool {
	r := p.current()
	return r != nil && !r.exited()
}

// Runs is how many times the process was started.
func (p *Process) Runs() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.runs)
}

// CommandLine is the process's command line, for humans: the binary and its
// arguments, separated by spaces.
func (p *Process) CommandLine() string {
	return p.c.cfg.Binary + " " + strings.Join(p.Args, " ")
}

// ReadyIn is how long the current run took from exec to every module
// answering /readyz 200; 0 when it is not ready.
func (p *Process) ReadyIn() time.Duration {
	r := p.current()
	if r == nil || r.ready.IsZero() {
		return 0
	}
	return r.ready.Sub(r.started)
}

// Started is when the current run was executed.
func (p *Process) Started() time.Time {
	if r := p.current(); r != nil {
		return r.started
	}
	return time.Time{}
}

// Ready is when every module of the current run first answered /readyz 200.
func (p *Process) Ready() time.Time {
	if r := p.current(); r != nil {
		return r.ready
	}
	return time.Time{}
}

// Logs is what every run of the process wrote to stdout and stderr, oldest
// run first.
func (p *Process) Logs() string {
	p.mu.Lock()
	runs := append([]*run(nil), p.runs...)
	p.mu.Unlock()
	var b strings.Builder
	for _, r := range runs {
		data, err := os.ReadFile(r.log)
		if err != nil {
			fmt.Fprintf(&b, "(log of %s: %v)\n", p.Name(), err)
			continue
		}
		b.Write(data)
	}
	return b.String()
}

// Wait waits up to timeout for the current run to exit by itself, as it
// does at a failpoint or on a fatal error, and returns its exit code (-1
// when a signal ended it); exited is false when it had not exited by then,
// and it is then killed (-1, false before the first run). Kill and Stop make
// a process exit; a test that makes the binary crash needs the code the
// crash itself left.
func (p *Process) Wait(timeout time.Duration) (code int, exited bool) {
	r := p.current()
	if r == nil {
		return -1, false
	}
	return r.wait(timeout)
}

// Signal sends sig to the current run and waits up to timeout for it to
// exit; code and exited are as for Wait. Cluster.Stop folds the outcome of a
// SIGTERM into one error; a test of the graceful stop itself sends SIGINT as
// well, and tells a stop that took too long from one that exited non-zero.
func (p *Process) Signal(sig os.Signal, timeout time.Duration) (code int, exited bool) {
	r := p.current()
	if r == nil {
		return -1, false
	}
	return r.stop(sig, timeout)
}

// start executes a new run of the process.
func (p *Process) start() (*run, error) {
	p.mu.Lock()
	n := len(p.runs) + 1
	p.mu.Unlock()
	logPath := fmt.Sprintf("%s/%s.%d.log", p.c.logDir, p.Name(), n)
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("cluster: log of %s: %w", p.Name(), err)
	}
	defer f.Close() // the child has its own descriptor
	cmd := Command(context.Background(), p.c.cfg.Binary, p.c.cfg.Env, p.Args...)
	cmd.Stdout, cmd.Stderr = f, f
	r := &run{cmd: cmd, log: logPath, done: make(chan struct{})}
	p.release()
	r.started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cluster: start %s: %w", p.Name(), err)
	}
	go func() {
		_ = cmd.Wait()
		p.hold()
		close(r.done)
	}()
	p.mu.Lock()
	p.runs = append(p.runs, r)
	p.mu.Unlock()
	return r, nil
}

// hold keeps the ports of the process, which exited, closed until it starts
// again: a test of its own or of another cluster asking for a free port is
// not given one the process will listen on again (see porthold).
func (p *Process) hold() {
	var held []*porthold.Port
	for _, m := range p.Modules {
		for _, addr := range []string{p.c.addrs[m], p.c.internal[m]} {
			port, err := porthold.Closed(addr)
			if err != nil {
				p.c.cfg.Logf("cluster: %s exited; its port %s is not held: %v", p.Name(), addr, err)
				continue
			}
			held = append(held, port)
		}
	}
	p.mu.Lock()
	p.held = append(p.held, held...)
	p.mu.Unlock()
}

// release frees the ports hold kept.
func (p *Process) release() {
	p.mu.Lock()
	held := p.held
	p.held = nil
	p.mu.Unlock()
	for _, port := range held {
		if err := port.Release(); err != nil {
			p.c.cfg.Logf("cluster: %v", err)
		}
	}
}

func (r *run) exited() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// exitCode is the exit code of a run that has exited (-1 when a signal
// killed it).
func (r *run) exitCode() int { return r.cmd.ProcessState.ExitCode() }

// wait waits up to timeout for the run to exit by itself; ok is false when it
// had not (it is then killed).
func (r *run) wait(timeout time.Duration) (code int, ok bool) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-r.done:
		return r.exitCode(), true
	case <-t.C:
		_ = r.cmd.Process.Kill()
		<-r.done
		return r.exitCode(), false
	}
}

// stop sends sig and waits up to timeout for the exit.
func (r *run) stop(sig os.Signal, timeout time.Duration) (code int, ok bool) {
	_ = r.cmd.Process.Signal(sig) // fails only when it has exited already
	return r.wait(timeout)
}

// waitReady polls GET cfg.ReadyPath of every module in addrs (module ->
// host:port), all at once, until each answers 200; it fails when the run
// exits, ctx ends or cfg.ReadyTimeout passes. It records when the last module
// became ready.
func (r *run) waitReady(ctx context.Context, addrs map[string]string, cfg Config) error {
	timeout := cfg.ReadyTimeout
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	defer client.CloseIdleConnections()
	errs := make(chan error, len(addrs))
	for module, addr := range addrs {
		go func() {
			last := "no answer"
			for {
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+cfg.ReadyPath, nil)
				resp, err := client.Do(req)
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						errs <- nil
						return
					}
					last = resp.Status
				} else {
					last = err.Error()
				}
				select {
				case <-r.done:
					errs <- fmt.Errorf("exited with code %d before %s was ready", r.exitCode(), module)
					return
				case <-ctx.Done():
					errs <- fmt.Errorf("module %s not ready within %s (last: %s)", module, timeout, last)
					return
				case <-time.After(cfg.PollInterval):
				}
			}
		}()
	}
	var all []error
	for range addrs {
		if err := <-errs; err != nil {
			all = append(all, err)
			cancel() // one failure is enough: stop the others
		}
	}
	if err := errors.Join(all...); err != nil {
		return err
	}
	r.ready = time.Now()
	return nil
}

// Command is binary with args, to run the way the cluster runs its
// processes: in this process's environment without the variables the binary
// reads as flag fallbacks (see childEnv), plus env (NAME=VALUE), so that only
// the flags given configure it. Start runs every process through it; a
// caller that runs a one-off command of the binary to its end beside a
// cluster (modules, migrate, a run meant to fail) takes it from here, so
// that the environment of the test or tool does not leak into that run
// either.
func Command(ctx context.Context, binary string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(childEnv(), env...)
	return cmd
}

// childEnv is this process's environment without the variables the binary
// reads as flag fallbacks, so that only the flags given configure it.
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

// tail is the end of s, at most max bytes.
func tail(s string, max int) string {
	if len(s) > max {
		return "...(cut)...\n" + s[len(s)-max:]
	}
	return s
}
