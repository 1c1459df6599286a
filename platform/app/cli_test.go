package app

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDatabaseFlagTellsSharedFromPerModule(t *testing.T) {
	var d databaseFlag
	for _, v := range []string{
		"postgres://u@h:5432/db?sslmode=disable",
		"orders=postgres://u@h:5432/orders?sslmode=disable",
	} {
		if err := d.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if d.shared != "postgres://u@h:5432/db?sslmode=disable" {
		t.Errorf("shared = %q", d.shared)
	}
	if d.modules["orders"] != "postgres://u@h:5432/orders?sslmode=disable" || len(d.modules) != 1 {
		t.Errorf("modules = %v", d.modules)
	}
	if err := d.Set("orders="); err == nil {
		t.Error("orders= with no URL was accepted")
	}
}

func TestDatabaseURLFromTheEnvironmentPerModule(t *testing.T) {
	t.Setenv("DATABASE_URL", "postgres://shared")
	t.Setenv("UBERSERVICE_DATABASE_URL_ORDERS", "postgres://orders")
	d := databaseFlagFromEnv([]Module{{Name: "accounts"}, {Name: "orders"}})
	if d.shared != "postgres://shared" || d.modules["orders"] != "postgres://orders" || d.modules["accounts"] != "" {
		t.Fatalf("got %+v", d)
	}
}

func TestUnknownModuleInADatabaseURLIsAUsageError(t *testing.T) {
	var stderr bytes.Buffer
	code := run([]string{"migrate", "--database-url", "bogus=postgres://x"}, []Module{{Name: "accounts"}}, &bytes.Buffer{}, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "bogus") {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}

func TestProbe(t *testing.T) {
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer ok.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }))
	defer down.Close()
	if code := run([]string{"probe", ok.URL}, nil, &bytes.Buffer{}, &bytes.Buffer{}); code != 0 {
		t.Errorf("probe of a healthy server exited %d", code)
	}
	if code := run([]string{"probe", down.URL}, nil, &bytes.Buffer{}, &bytes.Buffer{}); code != 1 {
		t.Errorf("probe of a 503 exited %d, want 1", code)
	}
}

func TestUnknownBusIsRefused(t *testing.T) {
	var stderr bytes.Buffer
	code := run([]string{"run", "--bus", "carrier-pigeon://", "--database-url", "postgres://127.0.0.1:1/x", "--modules", "portal",
		"--peer", "accounts=http://a", "--peer", "im=http://i"}, []Module{{Name: "portal", Uses: deps("accounts", "im")}, {Name: "accounts"}, {Name: "im"}},
		&bytes.Buffer{}, &stderr)
	if code == 0 || !strings.Contains(stderr.String(), "unknown bus") {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
}
