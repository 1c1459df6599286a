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

// A peer of several endpoints is placed with each of them, the first's URL
// still in URL; a peer of one and a module nowhere stay as they were.
func TestPlacementsOfSeveralEndpoints(t *testing.T) {
	env := &Env{sys: &System{
		all: []Module{{Name: "accounts"}, {Name: "im"}, {Name: "portal"}},
		cfg: Config{Peers: map[string]string{
			"accounts": "http://127.0.0.1:9081;weight=90,http://127.0.0.1:9181/;weight=10;version=next",
			"im":       "http://127.0.0.1:9082",
		}},
	}}
	got := env.Placements()
	if len(got) != 3 {
		t.Fatalf("placements: %+v", got)
	}
	acc := got[0]
	want := []Endpoint{{URL: "http://127.0.0.1:9081", Weight: 90}, {URL: "http://127.0.0.1:9181", Weight: 10, Version: "next"}}
	if acc.URL != "http://127.0.0.1:9081" || len(acc.Endpoints) != 2 || acc.Endpoints[0] != want[0] || acc.Endpoints[1] != want[1] {
		t.Errorf("accounts: URL %q, endpoints %+v, want %+v", acc.URL, acc.Endpoints, want)
	}
	if im := got[1]; im.URL != "http://127.0.0.1:9082" || len(im.Endpoints) != 1 || im.Endpoints[0] != (Endpoint{URL: im.URL, Weight: 1}) {
		t.Errorf("im: URL %q, endpoints %+v", im.URL, im.Endpoints)
	}
	if p := got[2]; p.URL != "" || len(p.Endpoints) != 0 || p.Here {
		t.Errorf("portal: %+v", p)
	}
}
