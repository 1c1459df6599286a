package app

import "testing"

func TestDialable(t *testing.T) {
	for in, want := range map[string]string{
		":9081": "127.0.0.1:9081", "[::]:9081": "127.0.0.1:9081", "0.0.0.0:9081": "127.0.0.1:9081",
		"127.0.0.1:9081": "127.0.0.1:9081", "[::1]:9081": "[::1]:9081", "10.1.2.3:80": "10.1.2.3:80",
	} {
		if got := dialable(in); got != want {
			t.Errorf("dialable(%q) = %q, want %q", in, got, want)
		}
	}
}
