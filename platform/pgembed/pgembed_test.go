package pgembed

import (
	"context"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestMain lets the test binary serve as the root child, exactly as main
// must: as root, Start re-executes the running binary with ChildCommand.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ChildCommand {
		os.Exit(RunChild(os.Args[2:]))
	}
	os.Exit(m.Run())
}

func TestDataSurvivesRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	tmpRoot := filepath.Clean(os.TempDir())
	base := t.TempDir() // <tmpRoot>/<TestName><random>/001
	dir := filepath.Join(base, "pg")
	if os.Geteuid() == 0 {
		// As root the cluster runs as an unprivileged user, which must be
		// able to traverse t.TempDir's 0700 folders: base and its parent,
		// never tmpRoot itself or anything above it.
		for _, p := range []string{base, filepath.Dir(base)} {
			if !strings.HasPrefix(p, tmpRoot+string(filepath.Separator)) {
				t.Fatalf("unexpected temp folder %s outside %s", p, tmpRoot)
			}
			if err := os.Chmod(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The library leaves a log file in $TMPDIR per start; keep the test's
	// inside base. World-writable, as root's child writes there too.
	tmp := filepath.Join(base, "tmp")
	if err := os.Mkdir(tmp, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, 0o1777); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TMPDIR", tmp)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))

	srv, err := Start(ctx, Options{Dir: dir, Logger: log})
	if err != nil {
		t.Fatalf("first start: %v", err)
	}
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != "/uberservice" || u.Hostname() != "127.0.0.1" || u.Port() == "5432" || u.User.Username() != "postgres" {
		t.Errorf("unexpected URL %s", srv.URL())
	}
	if _, hasPassword := u.User.Password(); hasPassword {
		t.Errorf("URL carries a password: %s", srv.URL())
	}
	execSQL(ctx, t, srv.URL(), "CREATE TABLE notes (body text NOT NULL)")
	execSQL(ctx, t, srv.URL(), "INSERT INTO notes (body) VALUES ('kept')")
	if err := srv.Stop(ctx); err != nil {
		t.Fatalf("first stop: %v", err)
	}
	if err := srv.Stop(ctx); err != nil {
		t.Fatalf("second Stop of the same server: %v", err)
	}

	// Same folder, and the port the first run picked, now given explicitly.
	port, err := strconv.ParseUint(u.Port(), 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	srv, err = Start(ctx, Options{Dir: dir, Port: uint32(port), Logger: log})
	if err != nil {
		t.Fatalf("second start: %v", err)
	}
	defer func() {
		if err := srv.Stop(ctx); err != nil {
			t.Errorf("second stop: %v", err)
		}
	}()
	if srv.URL() != u.String() {
		t.Errorf("URL changed from %s to %s", u, srv.URL())
	}
	conn, err := pgx.Connect(ctx, srv.URL())
	if err != nil {
		t.Fatalf("connect after restart: %v", err)
	}
	defer conn.Close(ctx)
	var body string
	if err := conn.QueryRow(ctx, "SELECT body FROM notes").Scan(&body); err != nil {
		t.Fatalf("read row after restart: %v", err)
	}
	if body != "kept" {
		t.Fatalf("row after restart = %q, want %q", body, "kept")
	}
}

func execSQL(ctx context.Context, t *testing.T, rawURL, sql string) {
	t.Helper()
	conn, err := pgx.Connect(ctx, rawURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
