package contracts_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// build builds the binary once per test that needs it.
func build(t *testing.T) string {
	t.Helper()
	binary := filepath.Join(t.TempDir(), "uberservice")
	cmd := exec.Command("go", "build", "-o", binary, "./cmd/uberservice")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/uberservice: %v\n%s", err, out)
	}
	return binary
}

// check runs `uberservice contracts --check` against dir: its output, and
// its exit code.
func check(t *testing.T, binary, dir string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	cmd := exec.Command(binary, "contracts", "--check", "--out", dir)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	}
	t.Fatalf("uberservice contracts --check: %v", err)
	return "", 0
}

// This folder is what `uberservice contracts` writes from the code now: an
// event payload or gateway DTO changed without `make contracts` fails here,
// and a change that breaks the other side of its contract says so.
func TestContractsAreCurrent(t *testing.T) {
	out, code := check(t, build(t), ".")
	switch {
	case code == 0:
		return
	case strings.Contains(out, "breaking change"):
		t.Fatalf("the contracts of the code break their committed versions:\n%s\n"+
			"Make the change a new version (a topic .v2, a route /v2/) beside the old one, then run `make contracts` and commit the result.", out)
	default:
		t.Fatalf("the contracts of the code differ from the committed ones, breaking no one:\n%s\n"+
			"Run `make contracts` and commit the result.", out)
	}
}

// The check fails on a breaking change, and names it: a committed payload
// with a field the code's no longer has is a field removed.
func TestCheckFailsOnABreakingChange(t *testing.T) {
	binary := build(t)
	dir := t.TempDir()
	cmd := exec.Command(binary, "contracts", "--out", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("uberservice contracts: %v\n%s", err, out)
	}
	name := filepath.Join(dir, "events", "accounts.funds_deposited.v1.json")
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	before := strings.Replace(string(data), `"properties": {`, `"properties": {
    "fee": {
      "type": "integer"
    },`, 1)
	if err := os.WriteFile(name, []byte(before), 0o644); err != nil {
		t.Fatal(err)
	}
	out, code := check(t, binary, dir)
	for _, want := range []string{"1 breaking change(s)", `topic accounts.funds_deposited.v1: field "fee" removed (or renamed): its consumers read it`, "a new topic (accounts.funds_deposited.v2)"} {
		if !strings.Contains(out, want) {
			t.Errorf("the check's output lacks %q:\n%s", want, out)
		}
	}
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
}
