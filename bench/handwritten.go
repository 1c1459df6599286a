package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uberservice/uberservice/internal/cluster"
)

// handwrittenServer is bench/handwritten running as a process of its own,
// like uberservice, on a database of its own that `uberservice migrate
// --modules accounts` made, with accounts seeded by seedSQL.
type handwrittenServer struct {
	URL     string
	DB      string // its database's URL
	Command string // how to start it by hand
	cmd     *exec.Cmd
	done    chan error
	drop    func(context.Context) error
	log     string
}

// startHandwritten builds bench/handwritten, migrates a fresh database for
// it, opens accounts accounts there and starts it on a free port with a
// pool of poolSize.
func (e *env) startHandwritten(accounts, poolSize int) (_ *handwrittenServer, err error) {
	root, err := cluster.RepoRoot()
	if err != nil {
		return nil, err
	}
	binary := filepath.Join(e.scratch, "handwritten")
	build := exec.CommandContext(e.ctx, "go", "build", "-trimpath", "-o", binary, "./bench/handwritten")
	build.Dir, build.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build bench/handwritten: %w\n%s", err, out)
	}
	h := &handwrittenServer{log: filepath.Join(e.scratch, "handwritten.log")}
	defer func() {
		if err != nil {
			err = errors.Join(err, h.close(e.ctx))
		}
	}()
	if h.DB, h.drop, err = cluster.FreshDatabase(e.ctx, e.admin, "uberservice_bench_"); err != nil {
		return nil, err
	}
	migrate := exec.CommandContext(e.ctx, e.binary, "migrate", "--modules", "accounts", "--database-url", h.DB)
	if out, err := migrate.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("uberservice migrate --modules accounts: %w\n%s", err, out)
	}
	conn, err := pgx.Connect(e.ctx, h.DB)
	if err != nil {
		return nil, err
	}
	_, err = conn.Exec(e.ctx, seedSQL, accounts)
	conn.Close(e.ctx)
	if err != nil {
		return nil, fmt.Errorf("seed the baseline's accounts: %w", err)
	}
	ports, err := cluster.FreePorts(1)
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(ports[0])
	logFile, err := os.Create(h.log)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	h.cmd = exec.Command(binary, "-addr", addr, "-database-url", h.DB, "-pool-size", strconv.Itoa(poolSize))
	h.cmd.Stdout, h.cmd.Stderr = logFile, logFile
	if err := h.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start bench/handwritten: %w", err)
	}
	h.done = make(chan error, 1)
	go func() { h.done <- h.cmd.Wait() }()
	h.URL = "http://" + addr
	h.Command = fmt.Sprintf("# the hand-written baseline, on a database of its own\n"+
		"uberservice migrate --modules accounts --database-url \"$BASELINE_DATABASE_URL\"\n"+
		"go run ./bench/handwritten -addr 127.0.0.1:8080 -database-url \"$BASELINE_DATABASE_URL\" -pool-size %d &", poolSize)
	// It listens once its pool is connected: ready is when it accepts.
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return h, nil
		}
		select {
		case err := <-h.done:
			h.done <- err
			out, _ := os.ReadFile(h.log)
			return nil, fmt.Errorf("bench/handwritten exited: %v\n%s", err, out)
		case <-e.ctx.Done():
			return nil, e.ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("bench/handwritten did not listen on %s within 30s", addr)
		}
	}
}

// PID is the server's process id.
func (h *handwrittenServer) PID() int { return h.cmd.Process.Pid }

// close stops the server (SIGTERM, then SIGKILL after 10s) and drops its
// database.
func (h *handwrittenServer) close(ctx context.Context) error {
	var errs []error
	if h.cmd != nil && h.cmd.Process != nil {
		_ = h.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-h.done:
		case <-time.After(10 * time.Second):
			_ = h.cmd.Process.Kill()
			<-h.done
			errs = append(errs, errors.New("bench/handwritten did not stop within 10s of SIGTERM"))
		}
	}
	if h.drop != nil {
		errs = append(errs, h.drop(context.WithoutCancel(ctx)))
	}
	return errors.Join(errs...)
}
