// Package pgembed runs a PostgreSQL cluster for local development, so that
// the uberservice binary works out of the box when the user gives no database
// URL and nothing answers on 127.0.0.1:5432.
//
// The cluster's data lives in a folder of its own and survives restarts. It
// listens on 127.0.0.1 only and trusts every connection there: it is a
// development database, never a production one.
//
// Binaries: Postgres installed on the machine is preferred (Debian's
// /usr/lib/postgresql/<N>, or pg_ctl on PATH); without one, the
// fergusstrange/embedded-postgres library downloads its default version.
//
// Root: initdb and postgres refuse to run as root, so when the process runs
// as root the cluster is run by a child process under an unprivileged user
// (postgres, else nobody). The child is this same executable re-executed with
// ChildCommand as its first argument, so main must begin with:
//
//	if len(os.Args) > 1 && os.Args[1] == pgembed.ChildCommand {
//		os.Exit(pgembed.RunChild(os.Args[2:]))
//	}
//
// A test binary that starts a cluster needs the same lines in its TestMain.
package pgembed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// ChildCommand is the hidden subcommand under which the executable is
// re-executed to run the cluster as an unprivileged user (see RunChild).
const ChildCommand = "internal-embedded-postgres"

// Options configure the embedded cluster.
type Options struct {
	// Dir is the base folder; data lives in Dir/data, runtime files in Dir/run.
	// Required. Dir/run is wiped on every start, so nothing of value goes there.
	Dir string
	// Port is the TCP port on 127.0.0.1; 0 picks a free one.
	Port uint32
	// Database is created when missing; default "uberservice".
	Database string
	// Logger receives progress and the server's output (at debug level); may be nil.
	Logger *slog.Logger
}

// Server is a running embedded cluster.
type Server struct {
	url string

	mu      sync.Mutex
	stop    func(ctx context.Context) error
	stopped bool
}

// Start starts (initialising on first use) the cluster and returns once it
// accepts connections on URL.
//
// Start never deletes an existing cluster: it runs it with binaries of the
// cluster's own major version (downloading them when none are installed) and
// refuses a Dir/data that holds something other than a cluster.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("pgembed: Options.Dir is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("pgembed: resolve dir %q: %w", opts.Dir, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := clusterConfig{dir: dir, port: opts.Port, database: opts.Database}
	if cfg.database == "" {
		cfg.database = "uberservice"
	}
	if cfg.port == 0 {
		if cfg.port, err = freePort(); err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pgembed: start: %w", err)
	}
	if err := checkNotRunning(cfg.dataDir()); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		return startChild(ctx, cfg, log)
	}
	return startInProcess(ctx, cfg, log)
}

// startInProcess runs the cluster from this process: the usual case of a
// developer running the binary as themselves.
func startInProcess(ctx context.Context, cfg clusterConfig, log *slog.Logger) (*Server, error) {
	if err := chooseBinaries(&cfg, runVersion, log); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.dir, 0o700); err != nil {
		return nil, fmt.Errorf("pgembed: create %s: %w", cfg.dir, err)
	}
	c, err := startCluster(ctx, cfg, &lineLogger{log: log})
	if err != nil {
		return nil, err
	}
	// The library cannot be interrupted, so a cancellation that arrived
	// meanwhile is honoured now rather than leaving a server nobody owns.
	if err := ctx.Err(); err != nil {
		_ = c.stop()
		return nil, fmt.Errorf("pgembed: start: %w", err)
	}
	log.Info("embedded postgres ready", "dir", cfg.dir, "url", c.url)
	return &Server{url: c.url, stop: func(ctx context.Context) error {
		done := make(chan error, 1)
		go func() { done <- c.stop() }()
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return fmt.Errorf("pgembed: stop: %w", ctx.Err())
		}
	}}, nil
}

// URL is a postgres:// URL for Options.Database on this server
// (user postgres, no password needed, sslmode=disable).
func (s *Server) URL() string { return s.url }

// Stop shuts the cluster down cleanly (fast shutdown: sessions are
// disconnected, nothing committed is lost) and waits for it. Once it has
// succeeded, further calls do nothing.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	if err := s.stop(ctx); err != nil {
		return err
	}
	s.stopped = true
	return nil
}

// DefaultDir is where the data lives when the user gives no folder:
// $XDG_DATA_HOME/uberservice/postgres or ~/.local/share/uberservice/postgres;
// as root /var/lib/uberservice/postgres, because root's home is usually not
// traversable by the unprivileged user that runs the cluster.
func DefaultDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/uberservice/postgres"
	}
	// The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
	if x := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "uberservice", "postgres")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "share", "uberservice", "postgres")
	}
	// No home at all (a bare container): keep the data next to where we run
	// rather than in a temporary folder that would lose it.
	return filepath.Join(".uberservice", "postgres")
}

// freePort asks the kernel for a free port on 127.0.0.1. Another process may
// take it before postgres binds it; Start then fails and can be retried.
func freePort() (uint32, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgembed: find a free port: %w", err)
	}
	defer l.Close()
	return uint32(l.Addr().(*net.TCPAddr).Port), nil
}

// connURL builds a URL for user postgres on the cluster; password may be empty.
func connURL(port uint32, database, password string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User("postgres"),
		Host:     net.JoinHostPort("127.0.0.1", strconv.FormatUint(uint64(port), 10)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	if password != "" {
		u.User = url.UserPassword("postgres", password)
	}
	return u.String()
}
