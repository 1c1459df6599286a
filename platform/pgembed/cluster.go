package pgembed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	embeddedpostgres "github.com/fergusstrange/embedded-postgres"
	"github.com/jackc/pgx/v5"
)

const (
	// initPassword is the superuser password initdb requires (the library
	// always initialises with password authentication). Once running, the
	// cluster trusts loopback connections, so nobody needs to know it.
	initPassword = "postgres"
	// startTimeout bounds the library's wait for the first connection.
	startTimeout = 60 * time.Second
	// hbaMarker opens the pg_hba.conf we write; its presence means the file
	// is ours and already in force.
	hbaMarker = "# Written by uberservice platform/pgembed."
	// maxSocketPath is the longest Unix socket path postgres can bind
	// (sun_path is 104 bytes on macOS, 108 on Linux; keep the smaller).
	maxSocketPath = 103
)

const hbaConf = hbaMarker + `
# A local development cluster: it listens on loopback only and trusts every
# connection there, so tools connect as postgres without a password.
local   all           all                   trust
host    all           all    127.0.0.1/32   trust
host    all           all    ::1/128        trust
local   replication   all                   trust
host    replication   all    127.0.0.1/32   trust
host    replication   all    ::1/128        trust
`

// clusterConfig is everything needed to run the library, in a form that can
// be passed to the child process as flags.
type clusterConfig struct {
	dir      string // base folder (absolute)
	port     uint32
	database string
	binaries string // folder holding bin/pg_ctl; "" downloads
	version  string // embeddedpostgres.PostgresVersion; "" is the library's default
	cache    string // download cache; "" is the library's default (~/.embedded-postgres-go)
}

func (c clusterConfig) dataDir() string { return filepath.Join(c.dir, "data") }
func (c clusterConfig) runDir() string  { return filepath.Join(c.dir, "run") }

// versions maps a major version, as PG_VERSION and --version spell it, to the
// library's constant; the constant is what the library downloads.
var versions = map[string]embeddedpostgres.PostgresVersion{
	"18": embeddedpostgres.V18, "17": embeddedpostgres.V17, "16": embeddedpostgres.V16,
	"15": embeddedpostgres.V15, "14": embeddedpostgres.V14, "13": embeddedpostgres.V13,
	"12": embeddedpostgres.V12, "11": embeddedpostgres.V11, "10": embeddedpostgres.V10,
	"9.6": embeddedpostgres.V9,
}

// binaries is one installation of Postgres found on the machine.
type binaries struct {
	dir   string // holds bin/pg_ctl, bin/initdb, bin/postgres
	major string // "15", "9.6"
	order int    // for sorting newest first
}

// chooseBinaries sets cfg.binaries and cfg.version. probe runs "<binary>
// --version" as the user that will run the cluster, so binaries that user
// cannot execute are never chosen.
//
// The choice matters for the data: the library deletes a data folder whose
// PG_VERSION does not match the configured version, so an existing cluster
// is always run by binaries of its own major version.
func chooseBinaries(cfg *clusterConfig, probe func(path string) (string, error), log *slog.Logger) error {
	existing, err := existingMajor(cfg.dataDir())
	if err != nil {
		return err
	}
	found := findBinaries(probe)
	for _, b := range found {
		if existing == "" || b.major == existing {
			cfg.binaries, cfg.version = b.dir, string(versionFor(b.major))
			log.Debug("embedded postgres: using installed binaries", "dir", b.dir, "version", b.major)
			return nil
		}
	}
	if existing == "" {
		log.Info("embedded postgres: no usable local installation, downloading the library's default version")
		return nil
	}
	v, ok := versions[existing]
	if !ok {
		return fmt.Errorf("pgembed: %s holds a PostgreSQL %s cluster and no binaries for it are installed or downloadable", cfg.dataDir(), existing)
	}
	cfg.version = string(v)
	log.Info("embedded postgres: no local binaries match the existing cluster, downloading", "version", existing)
	return nil
}

// existingMajor reads the major version of the cluster in dataDir: "" when
// there is none yet. A non-empty folder without PG_VERSION is refused, since
// the library would delete it to make room for a new cluster.
func existingMajor(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION"))
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("pgembed: read cluster version: %w", err)
	}
	entries, err := os.ReadDir(dataDir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("pgembed: read data folder: %w", err)
	}
	if len(entries) > 0 {
		return "", fmt.Errorf("pgembed: %s is not empty but holds no PostgreSQL cluster (no PG_VERSION); refusing to overwrite it", dataDir)
	}
	return "", nil
}

func versionFor(major string) embeddedpostgres.PostgresVersion {
	if v, ok := versions[major]; ok {
		return v
	}
	// A release newer than the library knows: the version only has to match
	// PG_VERSION, since local binaries are never downloaded.
	return embeddedpostgres.PostgresVersion(major)
}

// checkNotRunning refuses to start a cluster that is already running, most
// likely under another uberservice using the same folder: starting would
// fail anyway, but only after the library had wiped the running cluster's
// runtime folder (and with it its Unix socket).
func checkNotRunning(dataDir string) error {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return nil // none, or unreadable: postgres itself will judge
	}
	// Line 1 is the postmaster's pid, line 4 its port.
	lines := strings.Split(string(b), "\n")
	if len(lines) < 4 {
		return nil
	}
	port := strings.TrimSpace(lines[3])
	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", port), time.Second)
	if err != nil {
		return nil // a file left by a crash: postgres removes it on start
	}
	_ = conn.Close()
	return fmt.Errorf("pgembed: the cluster in %s is already running (pid %s, port %s); is another uberservice using this folder?",
		dataDir, strings.TrimSpace(lines[0]), port)
}

// findBinaries lists usable local installations, newest first: Debian's
// /usr/lib/postgresql/<N>, then the installation pg_ctl on PATH belongs to.
func findBinaries(probe func(string) (string, error)) []binaries {
	var dirs []string
	debian, _ := filepath.Glob("/usr/lib/postgresql/*")
	dirs = append(dirs, debian...)
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if p, err = filepath.EvalSymlinks(p); err == nil {
			dirs = append(dirs, filepath.Dir(filepath.Dir(p)))
		}
	}
	seen := map[string]bool{}
	var found []binaries
	for _, d := range dirs {
		if real, err := filepath.EvalSymlinks(d); err == nil {
			d = real
		}
		if seen[d] {
			continue
		}
		seen[d] = true
		if b, ok := inspectBinaries(d, probe); ok {
			found = append(found, b)
		}
	}
	sort.SliceStable(found, func(i, j int) bool { return found[i].order > found[j].order })
	return found
}

var versionRE = regexp.MustCompile(`\(PostgreSQL\) (\d+)(?:\.(\d+))?`)

// inspectBinaries checks that dir holds the three programs the library runs,
// that they execute, and that they are one version.
func inspectBinaries(dir string, probe func(string) (string, error)) (binaries, bool) {
	var major string
	var order int
	for _, name := range []string{"pg_ctl", "initdb", "postgres"} {
		out, err := probe(filepath.Join(dir, "bin", name))
		if err != nil {
			return binaries{}, false
		}
		m := versionRE.FindStringSubmatch(out)
		if m == nil {
			return binaries{}, false
		}
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		mj, o := m[1], x*100
		if x < 10 {
			mj, o = m[1]+"."+m[2], x*100+y
		}
		if major != "" && mj != major {
			return binaries{}, false
		}
		major, order = mj, o
	}
	return binaries{dir: dir, major: major, order: order}, true
}

// runVersion is the probe for binaries run by this process.
func runVersion(path string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	return string(out), err
}

// cluster is a running server started by this process.
type cluster struct {
	ep  *embeddedpostgres.EmbeddedPostgres
	dir string
	url string
}

// startCluster runs the library in this process; it must not be root.
// Server output goes to logw, which may be nil.
func startCluster(ctx context.Context, cfg clusterConfig, logw io.Writer) (*cluster, error) {
	socketDir := cfg.runDir()
	if len(socketDir)+len("/.s.PGSQL.65535") > maxSocketPath {
		socketDir = "" // too long to bind: TCP only
	}
	conf := embeddedpostgres.DefaultConfig().
		Port(cfg.port).
		Username("postgres").
		Password(initPassword).
		// The library creates Database only on first start; we create ours
		// on every start instead, so changing Options.Database works.
		Database("postgres").
		RuntimePath(cfg.runDir()).
		DataPath(cfg.dataDir()).
		// Independent of the environment (whose locale may not exist, for
		// example in the root child) and the same on every machine.
		Locale("C").
		Encoding("UTF8").
		StartTimeout(startTimeout).
		StartParameters(map[string]string{
			"listen_addresses": "127.0.0.1",
			// Debian's binaries default to /var/run/postgresql, which only
			// the system's postgres may write.
			"unix_socket_directories": socketDir,
		}).
		Logger(nil)
	if logw != nil {
		conf = conf.Logger(logw)
	}
	if cfg.version != "" {
		conf = conf.Version(embeddedpostgres.PostgresVersion(cfg.version))
	}
	if cfg.binaries != "" {
		conf = conf.BinariesPath(cfg.binaries)
	}
	if cfg.cache != "" {
		conf = conf.CachePath(cfg.cache)
	}
	ep := embeddedpostgres.NewDatabase(conf)
	if err := ep.Start(); err != nil {
		return nil, fmt.Errorf("pgembed: start postgres in %s: %w", cfg.dir, err)
	}
	c := &cluster{ep: ep, dir: cfg.dir, url: connURL(cfg.port, cfg.database, "")}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := configure(ctx, cfg); err != nil {
		_ = c.stop()
		return nil, err
	}
	return c, nil
}

func (c *cluster) stop() error {
	if err := c.ep.Stop(); err != nil {
		return fmt.Errorf("pgembed: stop postgres in %s: %w", c.dir, err)
	}
	return nil
}

// configure makes a freshly started server match what URL promises: no
// password on loopback, and the database present.
func configure(ctx context.Context, cfg clusterConfig) error {
	hba := filepath.Join(cfg.dataDir(), "pg_hba.conf")
	current, err := os.ReadFile(hba)
	if err != nil {
		return fmt.Errorf("pgembed: read pg_hba.conf: %w", err)
	}
	if !bytes.HasPrefix(current, []byte(hbaMarker)) {
		if err := os.WriteFile(hba, []byte(hbaConf), 0o600); err != nil {
			return fmt.Errorf("pgembed: write pg_hba.conf: %w", err)
		}
		conn, err := pgx.Connect(ctx, connURL(cfg.port, "postgres", initPassword))
		if err != nil {
			return fmt.Errorf("pgembed: connect to reload configuration: %w", err)
		}
		_, err = conn.Exec(ctx, "SELECT pg_reload_conf()")
		_ = conn.Close(ctx)
		if err != nil {
			return fmt.Errorf("pgembed: reload configuration: %w", err)
		}
	}
	// The reload is asynchronous: wait until a password-less connection,
	// exactly like the ones URL's users make, is accepted.
	var conn *pgx.Conn
	for {
		conn, err = pgx.Connect(ctx, connURL(cfg.port, "postgres", ""))
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pgembed: connect without password: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", cfg.database).Scan(&exists); err != nil {
		return fmt.Errorf("pgembed: look up database %s: %w", cfg.database, err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{cfg.database}.Sanitize()); err != nil {
			return fmt.Errorf("pgembed: create database %s: %w", cfg.database, err)
		}
	}
	return nil
}

// lineLogger turns written output into one debug record per line and keeps
// the last tailMax bytes for error messages. Write never fails: the library
// leaves a started server running when writing its log fails.
type lineLogger struct {
	log     *slog.Logger
	tailMax int

	mu   sync.Mutex
	buf  []byte
	tail []byte
}

func (w *lineLogger) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.tailMax > 0 {
		w.tail = append(w.tail, p...)
		if over := len(w.tail) - w.tailMax; over > 0 {
			w.tail = append(w.tail[:0], w.tail[over:]...)
		}
	}
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		if line := strings.TrimRight(string(w.buf[:i]), "\r"); line != "" {
			w.log.Debug("postgres: " + line)
		}
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// Tail is the most recent output.
func (w *lineLogger) Tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.TrimSpace(string(w.tail))
}
