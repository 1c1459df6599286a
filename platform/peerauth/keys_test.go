package peerauth

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return info.Mode().Perm()
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func publicKeys(t *testing.T, dir, name string) int {
	t.Helper()
	keys, err := decodePublic(read(t, filepath.Join(dir, name+publicExt)))
	if err != nil {
		t.Fatal(err)
	}
	return len(keys)
}

// Generate writes a key pair per name, the private key for its owner's eyes
// only; Load reads them back, and signs and verifies with them.
func TestGenerateLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if err := Generate(dir, "orders", "accounts", Operator); err != nil {
		t.Fatal(err)
	}
	if got, want := files(t, dir), []string{"accounts.key", "accounts.pub", "operator.key", "operator.pub", "orders.key", "orders.pub"}; !slices.Equal(got, want) {
		t.Errorf("files %v, want %v", got, want)
	}
	if m := mode(t, dir); m != 0o700 {
		t.Errorf("the folder's mode is %v, want 0700", m)
	}
	for _, name := range []string{"orders", "accounts", Operator} {
		if m := mode(t, filepath.Join(dir, name+".key")); m != 0o600 {
			t.Errorf("%s.key's mode is %v, want 0600", name, m)
		}
		if m := mode(t, filepath.Join(dir, name+".pub")); m != 0o644 {
			t.Errorf("%s.pub's mode is %v, want 0644", name, m)
		}
		if key := read(t, filepath.Join(dir, name+".key")); !bytes.HasPrefix(key, []byte("-----BEGIN PRIVATE KEY-----\n")) {
			t.Errorf("%s.key is no PKCS#8 PEM:\n%s", name, key)
		}
		if pub := read(t, filepath.Join(dir, name+".pub")); !bytes.HasPrefix(pub, []byte("-----BEGIN PUBLIC KEY-----\n")) {
			t.Errorf("%s.pub is no PKIX PEM:\n%s", name, pub)
		}
	}
	s := load(t, dir, start)
	if got := s.Names(); !slices.Equal(got, []string{"accounts", Operator, "orders"}) {
		t.Errorf("Names = %v", got)
	}
	verified(t, s, token(t, s, "orders", "accounts"), "accounts")
	if _, err := s.Signer("im"); err == nil {
		t.Error("a signer for a name with no private key here")
	}
}

// Generate replaces no key, and when it refuses a name it writes nothing.
func TestGenerateRefuses(t *testing.T) {
	dir, _ := keySet(t, "orders")
	before := read(t, filepath.Join(dir, "orders.key"))
	for _, names := range [][]string{
		{"orders"},
		{"accounts", "orders"},
		{},
		{"accounts", "accounts"},
		{"Accounts"},
		{"../orders"},
		{""},
	} {
		if err := Generate(dir, names...); err == nil {
			t.Errorf("Generate(%q) did", names)
		}
	}
	if err := Generate(dir, "orders"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Generate of an existing name: %v, want fs.ErrExist", err)
	}
	if !bytes.Equal(read(t, filepath.Join(dir, "orders.key")), before) {
		t.Error("orders.key was replaced")
	}
	if got := files(t, dir); !slices.Equal(got, []string{"orders.key", "orders.pub"}) {
		t.Errorf("files %v after refusals, want orders' alone", got)
	}
	// A name with public keys here and no private key is taken too: they
	// are in use by whoever holds its private key.
	pubOnly := t.TempDir()
	if err := os.WriteFile(filepath.Join(pubOnly, "orders.pub"), read(t, filepath.Join(dir, "orders.pub")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Generate(pubOnly, "orders"); err == nil {
		t.Error("Generate replaced orders.pub")
	}
}

// Load refuses a key set that cannot work, and says why.
func TestLoadRefuses(t *testing.T) {
	for _, c := range []struct {
		name  string
		spoil func(t *testing.T, dir string)
		want  string
	}{
		{"a private key whose public key is not listed", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "orders.pub"))
		}, "orders.key is not among the public keys"},
		{"one public key under two names", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "im.pub"), read(t, filepath.Join(dir, "orders.pub")), 0o644)
		}, "is im's too"},
		{"a public file of no key", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "im.pub"), []byte("hello\n"), 0o644)
		}, "no PEM public key"},
		{"a private key in a public file", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "im.pub"), read(t, filepath.Join(dir, "orders.key")), 0o644)
		}, "not a PUBLIC KEY"},
		{"a private file of no key", func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, "orders.key"), []byte("hello\n"), 0o600)
		}, "not a PEM private key"},
		{"no public key at all", func(t *testing.T, dir string) {
			for _, f := range files(t, dir) {
				os.Remove(filepath.Join(dir, f))
			}
		}, "no public keys"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir, _ := keySet(t, "orders", "accounts")
			c.spoil(t, dir)
			_, err := Load(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Load: %v, want an error saying %q", err, c.want)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("Load of no folder")
	}
}

// A Kubernetes Secret mounted as a folder: its files are links into a
// hidden, timestamped folder, beside other hidden entries. Load reads the
// keys through the links and ignores the rest.
func TestLoadASecretVolume(t *testing.T) {
	keys, _ := keySet(t, "orders", "accounts")
	dir := t.TempDir()
	data := filepath.Join(dir, "..2026_12_04_06_27_00.000000001")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"orders.key", "orders.pub", "accounts.pub"} {
		if err := os.WriteFile(filepath.Join(data, f), read(t, filepath.Join(keys, f)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("..data", f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Base(data), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("keys\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := load(t, dir, start)
	if got := s.Names(); !slices.Equal(got, []string{"orders"}) {
		t.Errorf("Names = %v, want orders alone", got)
	}
	verified(t, s, token(t, s, "orders", "accounts"), "accounts")
}

// A rotation, step by step: Rotate adds the new public key and replaces the
// private key; old and new tokens verify while both public keys are listed;
// a verifier that has not yet taken the new public key refuses the new
// tokens (hence: public key everywhere first); Retire drops the old public
// key, and the old tokens are refused from then on.
func TestRotation(t *testing.T) {
	dir, before := keySet(t, "orders", "accounts")
	oldToken := token(t, before, "orders", "accounts")
	oldKey := read(t, filepath.Join(dir, "orders.key"))

	if err := Rotate(dir, "orders"); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(read(t, filepath.Join(dir, "orders.key")), oldKey) {
		t.Fatal("Rotate kept the private key")
	}
	if m := mode(t, filepath.Join(dir, "orders.key")); m != 0o600 {
		t.Errorf("the new orders.key's mode is %v, want 0600", m)
	}
	if n := publicKeys(t, dir, "orders"); n != 2 {
		t.Fatalf("orders.pub holds %d keys during the rotation, want 2", n)
	}
	during := load(t, dir, start)
	newToken := token(t, during, "orders", "accounts")
	if newToken == oldToken {
		t.Fatal("the new key signed the old token")
	}
	for name, tok := range map[string]string{"old": oldToken, "new": newToken} {
		if c := verified(t, during, tok, "accounts"); c.Subject != "orders" {
			t.Errorf("during the rotation, the %s key's token verified as %+v", name, c)
		}
	}
	refused(t, before, newToken, "accounts", "the new key's token, by a verifier without the new public key")

	if err := Retire(dir, "orders"); err != nil {
		t.Fatal(err)
	}
	if n := publicKeys(t, dir, "orders"); n != 1 {
		t.Fatalf("orders.pub holds %d keys after Retire, want 1", n)
	}
	after := load(t, dir, start)
	refused(t, after, oldToken, "accounts", "the old key's token after the rotation")
	verified(t, after, newToken, "accounts")
	if err := Retire(dir, "orders"); err != nil {
		t.Errorf("Retire with nothing to retire: %v", err)
	}
}

// Where no private key is, Retire keeps the newest public key, the last one
// Rotate added; where the private key is, it keeps that one's, and it
// refuses to drop it.
func TestRetire(t *testing.T) {
	dir, _ := keySet(t, "orders", "accounts")
	if err := Rotate(dir, "orders"); err != nil {
		t.Fatal(err)
	}
	current := load(t, dir, start)
	newToken := token(t, current, "orders", "accounts")

	verifier := t.TempDir() // a process that only verifies: no orders.key
	for _, f := range []string{"orders.pub", "accounts.pub"} {
		os.WriteFile(filepath.Join(verifier, f), read(t, filepath.Join(dir, f)), 0o644)
	}
	if err := Retire(verifier, "orders"); err != nil {
		t.Fatal(err)
	}
	verified(t, load(t, verifier, start), newToken, "accounts")

	// orders.key put back to the old one by hand, while orders.pub lost it.
	os.WriteFile(filepath.Join(verifier, "orders.key"), read(t, filepath.Join(dir, "orders.key")), 0o600)
	if err := Rotate(verifier, "orders"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(verifier, "orders.pub"), read(t, filepath.Join(dir, "accounts.pub")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Retire(verifier, "orders"); err == nil {
		t.Error("Retire dropped the public key of orders.key")
	}
	if err := Rotate(t.TempDir(), "orders"); err == nil {
		t.Error("Rotate of a name with no keys")
	}
}

// EnsureDevelopment makes what is missing and keeps what is there.
func TestEnsureDevelopmentIsIdempotent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	if err := EnsureDevelopment(dir, "orders", Operator); err != nil {
		t.Fatal(err)
	}
	snapshot := func() map[string]string {
		m := map[string]string{}
		for _, f := range files(t, dir) {
			m[f] = string(read(t, filepath.Join(dir, f)))
		}
		return m
	}
	first := snapshot()
	if err := EnsureDevelopment(dir, "orders", Operator); err != nil {
		t.Fatal(err)
	}
	if second := snapshot(); !mapsEqual(first, second) {
		t.Error("a second EnsureDevelopment changed the keys")
	}
	if err := EnsureDevelopment(dir, "orders", "accounts", Operator); err != nil {
		t.Fatal(err)
	}
	third := snapshot()
	for f, content := range first {
		if third[f] != content {
			t.Errorf("adding accounts changed %s", f)
		}
	}
	if len(third) != 6 {
		t.Errorf("files %v, want 6", files(t, dir))
	}
	if m := mode(t, filepath.Join(dir, "accounts.key")); m != 0o600 {
		t.Errorf("accounts.key's mode is %v, want 0600", m)
	}
	s := load(t, dir, start)
	verified(t, s, token(t, s, "orders", "accounts"), "accounts")

	// A process stopped between the private key and the public one: the
	// next run completes the pair rather than replacing the key.
	os.Remove(filepath.Join(dir, "orders.pub"))
	if err := EnsureDevelopment(dir, "orders"); err != nil {
		t.Fatal(err)
	}
	if !mapsEqual(snapshot(), third) {
		t.Error("EnsureDevelopment did not restore orders.pub as it was")
	}
	if err := EnsureDevelopment(dir, "Orders"); err == nil {
		t.Error("EnsureDevelopment of a bad name")
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// Processes starting together on one machine (test packages, `make run`)
// each ensure the development key set, then load it: every one finds it
// whole, they all end up with the same keys, and nothing is left over.
func TestEnsureDevelopmentConcurrently(t *testing.T) {
	for round := range 20 {
		dir := filepath.Join(t.TempDir(), "keys")
		var wg sync.WaitGroup
		kids := make([]string, 8)
		errs := make([]error, len(kids))
		for i := range kids {
			wg.Go(func() {
				if errs[i] = EnsureDevelopment(dir, "accounts", "orders", Operator); errs[i] != nil {
					return
				}
				s, err := Load(dir)
				if errs[i] = err; err == nil {
					kids[i] = s.private["orders"].kid
				}
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, process %d: %v", round, i, err)
			}
			if kids[i] != kids[0] {
				t.Fatalf("round %d: processes hold different keys", round)
			}
		}
		if n := len(files(t, dir)); n != 6 {
			t.Fatalf("round %d: files %v, want 6", round, files(t, dir))
		}
		if n := publicKeys(t, dir, "orders"); n != 1 {
			t.Fatalf("round %d: orders.pub holds %d keys, want 1", round, n)
		}
	}
}

func TestDevelopmentDir(t *testing.T) {
	for pg, want := range map[string]string{
		"/home/ada/.local/share/uberservice/postgres":  "/home/ada/.local/share/uberservice/keys",
		"/home/ada/.local/share/uberservice/postgres/": "/home/ada/.local/share/uberservice/keys",
		"/var/lib/uberservice/postgres":                "/var/lib/uberservice/keys",
		".uberservice/postgres":                        ".uberservice/keys",
	} {
		if got := DevelopmentDir(pg); got != filepath.FromSlash(want) {
			t.Errorf("DevelopmentDir(%q) = %q, want %q", pg, got, want)
		}
	}
}
