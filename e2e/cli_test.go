package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// TestModulesCommand: `uberservice modules` lists every module with its default
// ports (public/internal), the gateways it uses (an optional one marked so) and the topics it
// publishes and consumes, one item a line, in 80 columns.
func TestModulesCommand(t *testing.T) {
	t.Parallel()
	code, stdout, stderr := runToExit(t, 20*time.Second, "modules")
	if code != 0 {
		t.Fatalf("uberservice modules exited %d, want 0; stderr:\n%s", code, stderr)
	}
	type module struct {
		port                      string
		uses, publishes, consumes []string
	}
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	header := lines[0]
	at := func(col string) int { return strings.Index(header, col) }
	if at("MODULE") != 0 || at("PORTS") < 0 || at("USES") < 0 || at("EVENTS") < 0 {
		t.Fatalf("header %q, want MODULE PORTS USES EVENTS", header)
	}
	cell := func(line string, from, to int) string {
		if from >= len(line) {
			return ""
		}
		if to < 0 || to > len(line) {
			to = len(line)
		}
		return strings.TrimSpace(line[from:to])
	}
	rows := map[string]*module{}
	var m *module
	for _, line := range lines[1:] {
		if len(line) > 80 {
			t.Errorf("line over 80 columns: %q", line)
		}
		if name := cell(line, 0, at("PORTS")); name != "" {
			m = &module{port: cell(line, at("PORTS"), at("USES"))}
			rows[name] = m
		}
		if m == nil {
			t.Fatalf("a line before the first module: %q", line)
		}
		if u := cell(line, at("USES"), at("EVENTS")); u != "" && u != "-" {
			m.uses = append(m.uses, u)
		}
		if topic, ok := strings.CutPrefix(cell(line, at("EVENTS"), -1), "publishes "); ok {
			m.publishes = append(m.publishes, topic)
		} else if topic, ok := strings.CutPrefix(cell(line, at("EVENTS"), -1), "consumes "); ok {
			m.consumes = append(m.consumes, strings.TrimSpace(topic))
		}
	}
	accountTopics := []string{"accounts.account_created.v1", "accounts.funds_deposited.v1", "accounts.funds_deposited.v2", "accounts.funds_withdrawn.v1",
		"accounts.account_debited.v1", "accounts.account_credited.v1"}
	wants := map[string]module{
		"accounts": {port: "8081/9081", publishes: accountTopics},
		"im":       {port: "8082/9082", uses: []string{"accounts"}, consumes: []string{"accounts.account_created.v1", "accounts.funds_deposited.v2"}},
		"portal":   {port: "8080/9080", uses: []string{"accounts", "im (optional)"}},
	}
	for name, w := range wants {
		got, ok := rows[name]
		if !ok {
			t.Errorf("module %s is not listed:\n%s", name, stdout)
			continue
		}
		if got.port != w.port || !slices.Equal(got.uses, w.uses) || !slices.Equal(got.publishes, w.publishes) ||
			!slices.Equal(got.consumes, w.consumes) {
			t.Errorf("module %s is listed as %+v, want %+v", name, *got, w)
		}
	}
}

// TestHelp: help asked for is printed on stdout and exits 0, for every
// command; a flag that does not exist is a usage error (exit 2) on stderr
// that points at the help.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"run", "-h"}, {"migrate", "--help"},
		{"modules", "-h"}, {"deploy", "-h"}} {
		code, stdout, stderr := runToExit(t, 20*time.Second, args...)
		if code != 0 || !strings.Contains(stdout, "Usage") || stderr != "" {
			t.Errorf("uberservice %s: exit %d, stdout %q, stderr %q; want exit 0 and the usage on stdout alone",
				strings.Join(args, " "), code, stdout, stderr)
		}
	}
	code, stdout, stderr := runToExit(t, 20*time.Second, "--no-such-flag")
	if code != 2 || stdout != "" || !strings.Contains(errorLine(stderr), "'uberservice run -h'") {
		t.Errorf("a bad flag: exit %d, stdout %q, stderr %q; want exit 2 and one line pointing at the help", code, stdout, stderr)
	}
}

// TestUnknownModule: a module that does not exist is a usage error (exit 2)
// that lists the valid modules.
func TestUnknownModule(t *testing.T) {
	t.Parallel()
	port := freePorts(t, 1)[0]
	code, _, stderr := runToExit(t, 20*time.Second, "run", "--modules", "accounts,bogus",
		"--listen", fmt.Sprintf("accounts=127.0.0.1:%d", port), "--database-url", apptest.FreshDatabase(t), "--log-format", "json")
	if code != 2 {
		t.Fatalf("exit code %d, want 2; stderr:\n%s", code, stderr)
	}
	msg := errorLine(stderr)
	for _, s := range append([]string{"bogus"}, moduleNames...) {
		if !regexp.MustCompile(`\b` + s + `\b`).MatchString(msg) {
			t.Errorf("the error does not name %q: %q", s, msg)
		}
	}
}

// TestPortalNeedsPeers: the portal alone, with no --peer for the gateways it
// calls, is refused at start-up with a message that says what is missing.
func TestPortalNeedsPeers(t *testing.T) {
	t.Parallel()
	port := freePorts(t, 1)[0]
	code, _, stderr := runToExit(t, 20*time.Second, "run", "--modules", "portal",
		"--listen", fmt.Sprintf("portal=127.0.0.1:%d", port), "--database-url", apptest.FreshDatabase(t), "--log-format", "json")
	if code != 2 {
		t.Fatalf("exit code %d, want 2; stderr:\n%s", code, stderr)
	}
	msg := errorLine(stderr)
	if !strings.Contains(msg, "--peer") {
		t.Errorf("the error does not point at --peer:\n%s", stderr)
	}
	var named []string
	for _, dep := range []string{"accounts", "im"} {
		if regexp.MustCompile(`\b` + dep + `\b`).MatchString(msg) {
			named = append(named, dep)
		}
	}
	if len(named) == 0 {
		t.Errorf("the error names neither missing gateway (accounts, im):\n%s", stderr)
	} else if len(named) == 1 {
		t.Logf("note: the error names only %v of the two missing gateways: %s", named, msg)
	}
	if c, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		t.Errorf("port %d of the refused portal is not free: %v", port, err)
	} else {
		c.Close()
	}
}

// TestPortInUse: a port in use stops the start-up before anything starts, with
// a message naming the module and the address; nothing stays bound or migrated.
func TestPortInUse(t *testing.T) {
	t.Parallel()
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	busy := held.Addr().String()
	ports := freePorts(t, 2)
	others := []string{fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1])}
	db := apptest.FreshDatabase(t)
	code, _, stderr := runToExit(t, 25*time.Second, "run", "--modules", "accounts,im,portal",
		"--listen", "accounts="+others[0], "--listen", "im="+busy, "--listen", "portal="+others[1],
		"--internal-listen", "accounts=127.0.0.1:0,im=127.0.0.1:0,portal=127.0.0.1:0",
		"--database-url", db, "--log-format", "json")
	if code <= 0 {
		t.Fatalf("exit code %d, want a failure (> 0); stderr:\n%s", code, stderr)
	}
	msg := errorLine(stderr)
	if !regexp.MustCompile(`\bim\b`).MatchString(msg) || !strings.Contains(msg, busy) {
		t.Errorf("the error does not name module im and address %s:\n%s", busy, stderr)
	}
	for _, addr := range others {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("%s is still bound after the failed start: %v", addr, err)
			continue
		}
		ln.Close()
	}
	if schemas := schemasOf(t, db, "accounts", "im"); len(schemas) != 0 {
		t.Errorf("a start-up refused for a busy port still touched the database: schemas %v exist", schemas)
	}
}

// TestMigrateThenRunNoMigrate: `uberservice migrate` creates the modules'
// roles and tables and exits; `run --no-migrate` then serves from them, while
// on an unmigrated database it refuses to start and says to migrate.
func TestMigrateThenRunNoMigrate(t *testing.T) {
	t.Parallel()
	db := apptest.FreshDatabase(t)
	for i := range 2 { // a second migrate finds nothing to do
		code, _, stderr := runToExit(t, 60*time.Second, "migrate", "--modules", "accounts,im", "--database-url", db, "--log-format", "json")
		if code != 0 {
			t.Fatalf("migrate #%d exited %d, want 0; stderr:\n%s", i+1, code, stderr)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatalf("connect %s: %v", db, err)
	}
	defer conn.Close(context.Background())
	platform := []string{"outbox", "inbox", "dead_letters", "notifications", "idempotency_keys", "platform_migrations", "schema_migrations"}
	for _, schema := range []string{"accounts", "im"} {
		tables := tablesOf(t, conn, schema)
		for _, want := range platform {
			if !slices.Contains(tables, want) {
				t.Errorf("schema %s has tables %v, want %s among them", schema, tables, want)
			}
		}
		var own []string
		for _, tb := range tables {
			if !slices.Contains(platform, tb) {
				own = append(own, tb)
			}
		}
		if len(own) == 0 {
			t.Errorf("schema %s has only the platform's tables %v, none of the module's own", schema, tables)
		}
		var version int64
		var dirty bool
		if err := conn.QueryRow(ctx, "SELECT version, dirty FROM "+pgx.Identifier{schema, "schema_migrations"}.Sanitize()).Scan(&version, &dirty); err != nil {
			t.Errorf("read %s.schema_migrations: %v", schema, err)
		} else if version < 1 || dirty {
			t.Errorf("%s migrations at version %d dirty=%v, want applied and clean", schema, version, dirty)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	p := startSystem(t, db, "--no-migrate")
	mia := person(t, p, "mia", identity.Customer)
	var a account
	expectJSON(t, apptest.Do(t, http.MethodPost, p.URL("accounts")+"/v1/accounts", map[string]any{
		"owner_name": "Mia Migrated", "email": "mia@example.com",
	}, mia...), http.StatusCreated, &a, accountKeys...)
	deposit(t, p.URL("accounts"), mia, a.ID, 700, 700)

	// On a database never migrated, --no-migrate does not start: the modules'
	// roles do not exist yet, and the error says to migrate first.
	fresh := apptest.FreshDatabase(t)
	code, _, stderr := runToExit(t, 30*time.Second, "run", "--no-migrate", "--modules", "accounts,im",
		"--listen", "accounts=127.0.0.1:0,im=127.0.0.1:0", "--internal-listen", "accounts=127.0.0.1:0,im=127.0.0.1:0",
		"--database-url", fresh, "--keys", keysDir, "--log-format", "json")
	if code == 0 || !strings.Contains(errorLine(stderr), "uberservice migrate") {
		t.Fatalf("--no-migrate on an unmigrated database: exit %d, %q; want a failure that says to run uberservice migrate",
			code, errorLine(stderr))
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel2()
	c, err := pgx.Connect(ctx2, fresh)
	if err != nil {
		t.Fatalf("connect %s: %v", fresh, err)
	}
	defer c.Close(context.Background())
	if tables := tablesOf(t, c, "accounts"); slices.Contains(tables, "outbox") {
		t.Errorf("--no-migrate migrated anyway: accounts has tables %v", tables)
	}
}

// errorLine is the line of stderr that reports why the command failed: the
// last one that is not a JSON log record.
func errorLine(stderr string) string {
	lines := strings.Split(strings.TrimRight(stderr, "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "{") && !strings.HasPrefix(l, "time=") {
			return l
		}
	}
	return ""
}

func tablesOf(t testing.TB, conn *pgx.Conn, schema string) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(),
		"SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name", schema)
	if err != nil {
		t.Fatalf("list tables of %s: %v", schema, err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("list tables of %s: %v", schema, err)
	}
	return tables
}

// schemasOf returns which of names exist as schemas in db.
func schemasOf(t testing.TB, db string, names ...string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatalf("connect %s: %v", db, err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, "SELECT schema_name FROM information_schema.schemata WHERE schema_name = ANY($1) ORDER BY 1", names)
	if err != nil {
		t.Fatalf("list schemas: %v", err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("list schemas: %v", err)
	}
	return found
}
