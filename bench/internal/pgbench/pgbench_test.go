package pgbench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadLogs(t *testing.T) {
	dir := t.TempDir()
	// client_id transaction_no time script_no time_epoch time_us
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("pgbench.123", "0 0 350 0 1700000000 1\n0 1 410 0 1700000000 2\n")
	write("pgbench.123.1", "1 0 failed 0 1700000000 3\n1 1 1200 0 1700000000 4\n")
	lat, failed, err := readLogs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(lat) != 3 || failed != 1 {
		t.Fatalf("latencies %v, failed %d", lat, failed)
	}
	clean(dir)
	if files, _ := filepath.Glob(filepath.Join(dir, "pgbench.*")); len(files) != 0 {
		t.Fatalf("clean left %v", files)
	}
}

func TestCommand(t *testing.T) {
	o := Options{DatabaseURL: "postgres://u@h/db?sslmode=disable", Script: "bench/x.sql", Clients: 16,
		Duration: 10 * time.Second, Vars: map[string]string{"accounts": "1000"}, SearchPath: "accounts"}
	want := "PGOPTIONS='-c search_path=accounts' pgbench -n -M prepared -T 10 -c 16 -j 2 -D accounts=1000 -f bench/x.sql 'postgres://u@h/db?sslmode=disable'"
	if got := o.Command(); got != want {
		t.Fatalf("Command()\n got %s\nwant %s", got, want)
	}
	out := "tps = 1234.567890 (without initial connection time)\nnumber of transactions actually processed: 12345\n"
	if m := tpsRE.FindStringSubmatch(out); m == nil || m[1] != "1234.567890" || !strings.Contains(txRE.FindString(out), "12345") {
		t.Fatal("pgbench output not parsed")
	}
}
