package app

import (
	"strings"
	"testing"
)

// --peer takes a module's endpoints repeated or comma-separated, and the
// environment's list the same way; a single URL is what it always was.
func TestPeerFlagsGatherAModulesEndpoints(t *testing.T) {
	modules := map[string]bool{"accounts": true, "im": true}
	for name, c := range map[string]struct {
		values []string
		want   map[string]string
	}{
		"one each":  {[]string{"accounts=http://a:1", "im=http://i:2"}, map[string]string{"accounts": "http://a:1", "im": "http://i:2"}},
		"repeated":  {[]string{"im=http://a:1;weight=90", "im=http://b:1;weight=10;version=2"}, map[string]string{"im": "http://a:1;weight=90,http://b:1;weight=10;version=2"}},
		"listed":    {[]string{"im=http://a:1;weight=90,http://b:1;weight=10"}, map[string]string{"im": "http://a:1;weight=90,http://b:1;weight=10"}},
		"env style": {[]string{"accounts=http://x:1,im=http://a:1;weight=3,https://b:1"}, map[string]string{"accounts": "http://x:1", "im": "http://a:1;weight=3,https://b:1"}},
	} {
		var f multiFlag
		for _, v := range c.values {
			_ = f.Set(v)
		}
		got, err := f.peerSpecs(modules)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(c.want) {
			t.Fatalf("%s: %v, want %v", name, got, c.want)
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%s: %s=%q, want %q", name, k, got[k], v)
			}
		}
	}
	for _, bad := range []string{"http://a:1", "im=http://a:1;weight=0", "im=ftp://a", "im=http://a:1,http://a:1", "orders=http://o"} {
		var f multiFlag
		_ = f.Set(bad)
		if _, err := f.peerSpecs(modules); err == nil || !strings.Contains(err.Error(), "--peer") {
			t.Errorf("%q: %v, want a usage error naming --peer", bad, err)
		}
	}
}
