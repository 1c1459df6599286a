package compat

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// What Write writes, ReadFiles and Parse read back as the same contracts;
// a contract no longer generated is removed, a file kept by hand is not.
func TestWriteReadBack(t *testing.T) {
	dir := t.TempDir()
	s := Set{Events: []Event{payloadOf(t, topic, deposited{})}, Methods: []Method{
		method(t, "Deposit", route, reserve{}, deposited{}), method(t, "Drop", route2, deposited{}, nil)}}
	files, err := Files(s)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, files); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"README.md", "events/" + topic + ".json", "gateways/accounts/Deposit.json", "gateways/accounts/Drop.json"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s not written: %v", p, err)
		}
	}
	read, err := ReadFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if stale := Stale(read, files); len(stale) > 0 {
		t.Errorf("read back differs in %v", stale)
	}
	back, err := Parse(read)
	if err != nil {
		t.Fatal(err)
	}
	if r := Compare(s, back); len(r) > 0 {
		t.Errorf("read back has changes:\n%s", r)
	}

	if err := os.WriteFile(filepath.Join(dir, "NOTES.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	fewer, err := Files(Set{Events: s.Events})
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, fewer); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "gateways", "accounts")); !os.IsNotExist(err) {
		t.Errorf("the contracts of a gateway no longer generated are left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "NOTES.txt")); err != nil {
		t.Errorf("a file kept by hand is removed: %v", err)
	}
	read, _ = ReadFiles(dir)
	if stale := Stale(read, files); !slices.Equal(stale, []string{"gateways/accounts/Deposit.json", "gateways/accounts/Drop.json"}) {
		t.Errorf("Stale = %v, want the two methods gone", stale)
	}
}
