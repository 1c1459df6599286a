package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
)

// NATSServer is a NATS server with JetStream of a test's or a cluster's own,
// on a loopback port, its store in a folder of its own: stopping it, or
// giving it users, disturbs nobody else.
type NATSServer struct {
	// URL is where clients reach it: nats://127.0.0.1:PORT, with the
	// credentials of NATSConfig.Admin when it has users.
	URL string
	// Port is its client port.
	Port int

	cfg  NATSConfig
	args []string
	out  lockedBuffer
	cmd  *exec.Cmd
	done chan struct{}
}

// NATSConfig says how to run a NATSServer.
type NATSConfig struct {
	// Dir holds the server's store and configuration. Required.
	Dir string
	// Config is a configuration file for the server (-c), such as the one
	// `uberservice deploy brokers` renders; the port, the address and the
	// store are set on the command line. Empty: none, JetStream alone.
	Config string
	// Env is added to the server's environment: the password variables
	// Config names.
	Env []string
	// Admin is a user:password that URL carries, when Config has users.
	Admin string
}

// natsBinary is nats-server on PATH, or where Debian installs it.
func natsBinary() (string, error) {
	if bin, err := exec.LookPath("nats-server"); err == nil {
		return bin, nil
	}
	const debian = "/usr/sbin/nats-server"
	if _, err := os.Stat(debian); err != nil {
		return "", errors.New("cluster: nats-server is required (CI installs it): not on PATH nor at " + debian)
	}
	return debian, nil
}

// StartNATS starts a NATS server with JetStream on a free loopback port and
// returns once JetStream answers. Stop it with Stop or Kill.
//
// A server from 2.10 on syncs every write to disk (sync_interval: always);
// an older one keeps its default, which writes every acknowledged message to
// its file before the acknowledgement and fsyncs every two minutes: a killed
// server loses nothing, a crashed machine might.
func StartNATS(ctx context.Context, cfg NATSConfig) (*NATSServer, error) {
	bin, err := natsBinary()
	if err != nil {
		return nil, err
	}
	ports, err := FreePorts(1)
	if err != nil {
		return nil, err
	}
	s := &NATSServer{Port: ports[0], cfg: cfg}
	host := "127.0.0.1:" + strconv.Itoa(s.Port)
	s.URL = "nats://" + host
	if cfg.Admin != "" {
		s.URL = "nats://" + cfg.Admin + "@" + host
	}
	store := filepath.Join(cfg.Dir, "store")
	s.args = []string{"-a", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-n", "cluster_" + randomHex(3), "-js", "-sd", store}
	conf := cfg.Config
	if conf == "" {
		// sync_interval can only be given in a file; an older server refuses
		// it, and then runs without.
		conf = filepath.Join(cfg.Dir, "sync.conf")
		if err := os.WriteFile(conf, []byte("jetstream {\n  sync_interval: always\n}\n"), 0o600); err != nil {
			return nil, fmt.Errorf("cluster: NATS configuration: %w", err)
		}
		if err := exec.Command(bin, "-t", "-c", conf).Run(); err != nil {
			conf = ""
		}
	}
	if conf != "" {
		s.args = append([]string{"-c", conf}, s.args...)
	}
	s.args = append([]string{bin}, s.args...)
	return s, s.Start(ctx)
}

// Start starts the server (again, on the same port and store) and waits until
// JetStream answers, for at most 20 seconds.
func (s *NATSServer) Start(ctx context.Context) error {
	s.cmd = exec.Command(s.args[0], s.args[1:]...)
	s.cmd.Env = append(os.Environ(), s.cfg.Env...)
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("cluster: start nats-server: %w", err)
	}
	done := make(chan struct{})
	s.done = done
	go func() { _ = s.cmd.Wait(); close(done) }()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		if !s.Running() {
			return fmt.Errorf("cluster: nats-server exited:\n%s", tail(s.out.String(), 8<<10))
		}
		if s.ready() {
			return nil
		}
		select {
		case <-ctx.Done():
			_ = s.Kill()
			return fmt.Errorf("cluster: JetStream on port %d did not answer: %w\n%s", s.Port, ctx.Err(), tail(s.out.String(), 8<<10))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *NATSServer) ready() bool {
	nc, err := nats.Connect(s.URL, nats.Timeout(time.Second))
	if err != nil {
		return false
	}
	defer nc.Close()
	js, err := nc.JetStream(nats.MaxWait(time.Second))
	if err != nil {
		return false
	}
	_, err = js.AccountInfo()
	return err == nil
}

// Running reports whether the server's process has not exited.
func (s *NATSServer) Running() bool {
	if s.done == nil {
		return false
	}
	select {
	case <-s.done:
		return false
	default:
		return true
	}
}

// Kill kills the server with SIGKILL and waits for it to exit.
func (s *NATSServer) Kill() error { return s.signal(syscall.SIGKILL, 10*time.Second) }

// Stop stops the server with SIGTERM, or SIGKILL after ten seconds.
func (s *NATSServer) Stop() error {
	if err := s.signal(syscall.SIGTERM, 10*time.Second); err != nil {
		return s.Kill()
	}
	return nil
}

func (s *NATSServer) signal(sig syscall.Signal, wait time.Duration) error {
	if !s.Running() {
		return nil
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
		return nil
	case <-time.After(wait):
		return fmt.Errorf("cluster: nats-server did not exit within %s of %s", wait, sig)
	}
}

// Output is what the server wrote to stdout and stderr.
func (s *NATSServer) Output() string { return s.out.String() }

// lockedBuffer is a bytes.Buffer that a child process may write to while
// others read it.
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
