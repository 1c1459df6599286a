package database

import "testing"

func TestStorableText(t *testing.T) {
	for in, want := range map[string]string{
		"plain":           "plain",
		"a\x00b":          "a\u2400b",
		"caf\xe9":         "caf\ufffd",
		"naïve \u202e ok": "naïve \u202e ok",
	} {
		if got := StorableText(in); got != want {
			t.Errorf("StorableText(%q) = %q, want %q", in, got, want)
		}
	}
}
