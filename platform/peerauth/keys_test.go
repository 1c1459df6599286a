package peerauth

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// A rotation: the old key's tokens verify while its public key is listed,
// the new key's do too, and once the old public key is dropped its tokens
// are refused.
func TestRotation(t *testing.T) {
	dir, before := keySet(t, "orders", "accounts")
	old, _ := signer(t, before, "orders").Token("accounts")
	if err := Rotate(dir, "orders"); err != nil {
		t.Fatal(err)
	}
	during := load(t, dir, time.Now())
	fresh, _ := signer(t, during, "orders").Token("accounts")
	if fresh == old {
		t.Fatal("the rotated key signed the old token")
	}
	for name, token := range map[string]string{"old": old, "new": fresh} {
		if _, err := during.Verify(token, "accounts"); err != nil {
			t.Errorf("during the rotation, the %s key's token: %v", name, err)
		}
	}
	// The rotation ends: the old public key leaves orders.pub.
	pubs, err := os.ReadFile(filepath.Join(dir, "orders.pub"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.SplitAfter(string(pubs), "-----END PUBLIC KEY-----\n")
	if err := os.WriteFile(filepath.Join(dir, "orders.pub"), []byte(blocks[1]), 0o644); err != nil {
		t.Fatal(err)
	}
	after := load(t, dir, time.Now())
	refused(t, after, old, "accounts", "the old key's token after the rotation")
	if _, err := after.Verify(fresh, "accounts"); err != nil {
		t.Errorf("the new key's token after the rotation: %v", err)
	}
}

// Generate writes the private keys for their owner's eyes only and refuses
// to replace a key; Load refuses a private key whose public key is missing.
func TestKeyFiles(t *testing.T) {
	dir, s := keySet(t, "orders", Operator)
	info, err := os.Stat(filepath.Join(dir, "orders.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("orders.key: %v, mode %v; want 0600", err, info.Mode().Perm())
	}
	if got := s.Names(); strings.Join(got, ",") != "operator,orders" {
		t.Errorf("Names = %v", got)
	}
	if err := Generate(dir, "orders"); err == nil {
		t.Error("Generate replaced an existing key")
	}
	if err := os.Remove(filepath.Join(dir, "orders.pub")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil {
		t.Error("Load took a private key with no public key")
	}
	if _, err := s.Signer("im"); err == nil {
		t.Error("a signer for a name with no private key here")
	}
}

// Processes starting together on one machine each ensure the development
// key set: they all end up with the same keys.
func TestEnsureDevelopmentIsSharedByProcessesStartingTogether(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() { errs[i] = EnsureDevelopment(dir, "accounts", "orders", Operator) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s := load(t, dir, time.Now())
	token, _ := signer(t, s, "orders").Token("accounts")
	if _, err := load(t, dir, time.Now()).Verify(token, "accounts"); err != nil {
		t.Fatalf("the development key set does not verify its own tokens: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 6 {
		t.Errorf("%d files in the key folder, want 6 (no leftovers)", len(entries))
	}
	if err := EnsureDevelopment(dir, "accounts", "orders", Operator); err != nil {
		t.Fatal(err)
	}
	if _, err := load(t, dir, time.Now()).Verify(token, "accounts"); err != nil {
		t.Fatalf("a second EnsureDevelopment changed the keys: %v", err)
	}
}
