//go:build unix

package pgembed

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	// childReadyTimeout bounds the wait for the child's ready line; it covers
	// initdb and, on a machine without Postgres, a download.
	childReadyTimeout = 3 * time.Minute
	// childExitGrace is how long a child that is being aborted may take to
	// stop its cluster before it is killed.
	childExitGrace = 30 * time.Second
)

// runAs is the unprivileged account the root child runs as.
type runAs struct {
	name     string
	uid, gid uint32
}

// unprivilegedUser picks postgres when the machine has it (its files then
// look familiar to an administrator), else nobody.
func unprivilegedUser() (runAs, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return runAs{name: name, uid: uint32(uid), gid: uint32(gid)}, nil
	}
	return runAs{}, errors.New("pgembed: running as root, and neither a postgres nor a nobody user exists to run the cluster as")
}

func (u runAs) sysProcAttr() *syscall.SysProcAttr {
	// No Groups: the child keeps none of root's supplementary groups.
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid}}
}

// probe runs "<path> --version" as u, proving u can execute the binary.
func (u runAs) probe(path string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "--version")
	cmd.SysProcAttr = u.sysProcAttr()
	cmd.Dir = "/" // the current folder may be root's home, closed to u
	out, err := cmd.Output()
	return string(out), err
}

// child is the parent's handle on the root child.
type child struct {
	cmd    *exec.Cmd
	stdin  io.Closer
	stderr *lineLogger
	done   chan struct{} // closed when the child has exited
	err    error         // exit status, valid once done is closed
}

// startChild runs the cluster in a re-executed child under an unprivileged
// user, for a process running as root.
func startChild(ctx context.Context, cfg clusterConfig, log *slog.Logger) (*Server, error) {
	u, err := unprivilegedUser()
	if err != nil {
		return nil, err
	}
	if err := chooseBinaries(&cfg, u.probe, log); err != nil {
		return nil, err
	}
	if cfg.binaries == "" {
		// Root's ~/.embedded-postgres-go is not the child's to write.
		cfg.cache = filepath.Join(cfg.dir, "cache")
	}
	if err := prepareDirs(cfg, u); err != nil {
		return nil, err
	}

	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("pgembed: find own executable: %w", err)
	}
	path := exe
	if runtime.GOOS == "linux" {
		// The executable may sit in a folder u cannot traverse (/root/go/bin,
		// go test's 0700 build folder); the kernel lets a process exec its
		// own /proc/self/exe whatever the path to it.
		path = "/proc/self/exe"
	}
	cmd := exec.Command(path, ChildCommand,
		"-dir", cfg.dir,
		"-port", strconv.FormatUint(uint64(cfg.port), 10),
		"-database", cfg.database,
		"-binaries", cfg.binaries,
		"-version", cfg.version,
		"-cache", cfg.cache,
	)
	cmd.Args[0] = exe
	cmd.Dir = cfg.dir
	cmd.Env = append(os.Environ(), "HOME="+cfg.dir, "USER="+u.name, "LOGNAME="+u.name)
	cmd.SysProcAttr = u.sysProcAttr()
	// Its own process group: a Ctrl-C in the terminal reaches only the
	// parent, whose orderly shutdown then stops the child exactly once.
	cmd.SysProcAttr.Setpgid = true
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("pgembed: child stdin: %w", err)
	}
	ready := &readyWriter{ch: make(chan string, 1)}
	cmd.Stdout = ready
	c := &child{cmd: cmd, stdin: stdin, stderr: &lineLogger{log: log, tailMax: 16 << 10}, done: make(chan struct{})}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		_ = stdin.Close()
		return nil, fmt.Errorf("pgembed: start child as user %s (every folder above %s must be traversable by it): %w", u.name, cfg.dir, err)
	}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()

	timer := time.NewTimer(childReadyTimeout)
	defer timer.Stop()
	select {
	case url := <-ready.ch:
		log.Info("embedded postgres ready", "dir", cfg.dir, "url", url, "user", u.name, "pid", cmd.Process.Pid)
		return &Server{url: url, stop: c.stop}, nil
	case <-c.done:
		return nil, fmt.Errorf("pgembed: child running postgres as %s exited before it was ready: %v\n%s", u.name, c.err, c.stderr.Tail())
	case <-ctx.Done():
		c.abort()
		return nil, fmt.Errorf("pgembed: start: %w", ctx.Err())
	case <-timer.C:
		c.abort()
		return nil, fmt.Errorf("pgembed: child running postgres as %s not ready after %s\n%s", u.name, childReadyTimeout, c.stderr.Tail())
	}
}

// stop asks the child to stop the cluster and waits for it to exit.
func (c *child) stop(ctx context.Context) error {
	c.signal()
	select {
	case <-c.done:
		if c.err != nil {
			return fmt.Errorf("pgembed: child running postgres: %w\n%s", c.err, c.stderr.Tail())
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("pgembed: stop: %w", ctx.Err())
	}
}

func (c *child) signal() {
	_ = c.stdin.Close()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
}

// abort stops a child that never became ready. Given time, the child stops
// its cluster itself; only a child stuck past the grace period is killed,
// which may leave postgres running (the next start then reports its
// postmaster.pid).
func (c *child) abort() {
	c.signal()
	select {
	case <-c.done:
	case <-time.After(childExitGrace):
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
	}
}

// readyWriter watches the child's stdout for its "ready <url>" line.
type readyWriter struct {
	ch   chan string
	mu   sync.Mutex
	buf  []byte
	sent bool
}

func (w *readyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sent {
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := strings.TrimSpace(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
		if url, ok := strings.CutPrefix(line, "ready "); ok {
			w.ch <- url
			w.sent, w.buf = true, nil
			return len(p), nil
		}
	}
}

// prepareDirs creates Dir, Dir/data and Dir/run and hands them to u: the
// child must create and delete entries in Dir itself (the library recreates
// data and run). Only our own sub-folders are chowned recursively, never
// whatever else Dir may hold.
func prepareDirs(cfg clusterConfig, u runAs) error {
	if err := os.MkdirAll(filepath.Dir(cfg.dir), 0o755); err != nil {
		return fmt.Errorf("pgembed: create %s: %w", filepath.Dir(cfg.dir), err)
	}
	for _, d := range []string{cfg.dir, cfg.dataDir(), cfg.runDir()} {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("pgembed: create %s: %w", d, err)
		}
	}
	if err := os.Chown(cfg.dir, int(u.uid), int(u.gid)); err != nil {
		return fmt.Errorf("pgembed: hand %s to %s: %w", cfg.dir, u.name, err)
	}
	for _, d := range []string{cfg.dataDir(), cfg.runDir(), filepath.Join(cfg.dir, "cache")} {
		err := filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) && p == d {
					return nil
				}
				return err
			}
			info, err := e.Info()
			if err != nil {
				return err
			}
			if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Uid == u.uid && st.Gid == u.gid {
				return nil
			}
			return os.Lchown(p, int(u.uid), int(u.gid))
		})
		if err != nil {
			return fmt.Errorf("pgembed: hand %s to %s: %w", d, u.name, err)
		}
	}
	return nil
}

// RunChild is called by main when the binary was re-executed as the
// cluster's child, with the arguments after ChildCommand; its result is the
// exit code. It starts the cluster, prints "ready <url>" on stdout, and stops
// the cluster when stdin is closed (the parent stopped or died) or on
// SIGTERM/SIGINT, once the parent has let go or signalGrace has passed.
func RunChild(args []string) int {
	const signalGrace = time.Minute
	// Signals are caught before the slow start so that none is lost.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	// A dead parent must not kill us mid-way (a terminal hang-up, or writing
	// to its closed pipes): that would leave postgres running unowned.
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)

	fset := flag.NewFlagSet(ChildCommand, flag.ContinueOnError)
	fset.SetOutput(os.Stderr)
	var cfg clusterConfig
	var port uint64
	fset.StringVar(&cfg.dir, "dir", "", "base folder")
	fset.Uint64Var(&port, "port", 0, "TCP port")
	fset.StringVar(&cfg.database, "database", "uberservice", "database to create")
	fset.StringVar(&cfg.binaries, "binaries", "", "folder holding bin/pg_ctl; empty downloads")
	fset.StringVar(&cfg.version, "version", "", "library PostgresVersion")
	fset.StringVar(&cfg.cache, "cache", "", "download cache folder")
	if err := fset.Parse(args); err != nil {
		return 2
	}
	if cfg.dir == "" || port == 0 || port > 65535 {
		fmt.Fprintln(os.Stderr, "pgembed: child needs -dir and -port")
		return 2
	}
	cfg.port = uint32(port)

	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stdinClosed)
	}()

	c, err := startCluster(context.Background(), cfg, quietWriter{os.Stderr})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "ready %s\n", c.url)
	if out.Flush() == nil {
		select {
		case <-sigs:
			// A signal sent to every process at once (a container or service
			// stop) also reaches the parent, which is draining its work into
			// this database: stop only once it lets go of us, or after a grace
			// period longer than its own shutdown bound.
			select {
			case <-stdinClosed:
			case <-time.After(signalGrace):
			}
		case <-stdinClosed:
		}
	}
	if err := c.stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// quietWriter ignores write errors: the library leaves a started server
// running when copying its log fails, and a gone parent must not cause that.
type quietWriter struct{ w io.Writer }

func (q quietWriter) Write(p []byte) (int, error) {
	_, _ = q.w.Write(p)
	return len(p), nil
}
