package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `uberservice contracts` writes a contract for every declared payload and
// every method of a provided gateway; --check then finds the folder
// current, and names a contract of the folder the code no longer has as a
// breaking change.
func TestContractsCommand(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"contracts", "--out", dir}, docModules(), &stdout, &stderr); code != 0 {
		t.Fatalf("contracts: exit %d: %s", code, stderr.String())
	}
	for _, p := range []string{"README.md", "events/ledger.posted.v1.json", "gateways/ledger/Post.json"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s: %v", p, err)
		}
	}
	stdout.Reset()
	if code := run([]string{"contracts", "--check", "--out", dir}, docModules(), &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "is current") {
		t.Errorf("--check of what was just written: exit %d: %s%s", code, stdout.String(), stderr.String())
	}

	gone := []byte(`{"gateway": "ledger", "method": "Void", "route": "POST /gateway/ledger/v1/voids", "request": {"in": "body", "schema": {"type": "integer"}}, "response": {"status": 204}}`)
	if err := os.WriteFile(filepath.Join(dir, "gateways", "ledger", "Void.json"), gone, 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	stderr.Reset()
	code := run([]string{"contracts", "--check", "--out", dir}, docModules(), &stdout, &stderr)
	if code != 1 || !strings.Contains(stdout.String(), "ledger.Void (POST /gateway/ledger/v1/voids): removed") ||
		!strings.Contains(stderr.String(), "1 breaking change(s)") {
		t.Errorf("--check with a method gone: exit %d:\n%s%s", code, stdout.String(), stderr.String())
	}

	if code := run([]string{"contracts", "extra"}, docModules(), &stdout, &stderr); code != 2 {
		t.Errorf("an unexpected argument: exit %d, want 2", code)
	}
}
