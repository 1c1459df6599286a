package app

import (
	"bytes"
	"strings"
	"testing"

	"github.com/uberservice/uberservice/platform/fitness"
)

func TestShadowPeersAreParsedAndChecked(t *testing.T) {
	modules := []Module{{Name: "im", Fitness: []fitness.Effect{{Name: "x", Query: "SELECT '', ''"}}}, {Name: "accounts"}}
	got, err := shadowPeers([]string{"im/canary=http://127.0.0.1:9182/", "im/beta=http://b:1"}, modules)
	if err != nil || len(got) != 2 || got[0] != (ShadowPeer{Module: "im", Name: "beta", URL: "http://b:1"}) ||
		got[1] != (ShadowPeer{Module: "im", Name: "canary", URL: "http://127.0.0.1:9182"}) {
		t.Fatalf("shadowPeers = %+v, %v", got, err)
	}
	for _, bad := range []string{"im=http://x", "im/canary", "im/canary=x", "accounts/canary=http://x", "nope/canary=http://x",
		"im/Canary=http://x", "im/a=http://x,im/a=http://y"} {
		var values multiFlag
		_ = values.Set(bad)
		if _, err := shadowPeers(values, modules); err == nil {
			t.Errorf("--shadow-peer %q was accepted", bad)
		}
	}
	var stderr bytes.Buffer
	code := run([]string{"run", "--shadow-peer", "accounts/canary=http://x", "--database-url", "postgres://127.0.0.1:1/x"}, modules, &bytes.Buffer{}, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), "--shadow-peer") {
		t.Fatalf("run with a bad --shadow-peer exited %d: %s", code, stderr.String())
	}
}
