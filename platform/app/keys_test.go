package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uberservice/uberservice/platform/peerauth"
)

// `uberservice keys` makes a deployment's key set, rotates a key and prints
// an operator's token that the set verifies.
func TestKeysCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	modules := []Module{{Name: "accounts"}, {Name: "orders"}}
	keys := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(append([]string{"keys"}, args...), modules, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	if code, _, stderr := keys("generate", "--out", dir); code != 0 {
		t.Fatalf("generate: exit %d: %s", code, stderr)
	}
	for _, f := range []string{"accounts.key", "accounts.pub", "orders.key", "orders.pub", "operator.key", "operator.pub"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("generate wrote no %s: %v", f, err)
		}
	}
	if code, _, _ := keys("generate", "--out", dir); code == 0 {
		t.Error("generate replaced an existing key set")
	}
	code, stdout, stderr := keys("token", "--keys", dir, "--ttl", "10m")
	if code != 0 {
		t.Fatalf("token: exit %d: %s", code, stderr)
	}
	set, err := peerauth.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := set.Verify(strings.TrimSpace(stdout), peerauth.OpsAudience); err != nil || !c.HasRole(peerauth.Operator) {
		t.Fatalf("the printed token: %+v, %v", c, err)
	}
	if code, _, stderr := keys("rotate", "--keys", dir, "orders"); code != 0 {
		t.Fatalf("rotate: exit %d: %s", code, stderr)
	}
	pub, _ := os.ReadFile(filepath.Join(dir, "orders.pub"))
	if n := strings.Count(string(pub), "BEGIN PUBLIC KEY"); n != 2 {
		t.Errorf("orders.pub holds %d keys after a rotation, want the old and the new", n)
	}
	if code, _, stderr := keys("retire", "--keys", dir, "orders"); code != 0 {
		t.Fatalf("retire: exit %d: %s", code, stderr)
	}
	pub, _ = os.ReadFile(filepath.Join(dir, "orders.pub"))
	if n := strings.Count(string(pub), "BEGIN PUBLIC KEY"); n != 1 {
		t.Errorf("orders.pub holds %d keys after the rotation ended, want the new one alone", n)
	}
	if code, _, _ := keys("token", "--keys", dir, "--ttl", "48h"); code != 2 {
		t.Errorf("a token to live 48h: exit %d, want 2", code)
	}
}
