package build

import (
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestIdentify(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	for _, tc := range []struct {
		name, override string
		bi             *debug.BuildInfo
		version        string
		revision       string
	}{
		{"nothing recorded", "", nil, Unknown, ""},
		{"no VCS, devel", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, Unknown, ""},
		{"clean work tree", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("false")}, "0123456789ab", rev},
		{"modified work tree", "", &debug.BuildInfo{Settings: vcs("true")}, "0123456789ab+dirty", rev},
		{"module version", "", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.2"}, Settings: vcs("false")}, "v1.4.2", rev},
		{"linker wins", "1.4.2", &debug.BuildInfo{Main: debug.Module{Version: "v1.4.1"}, Settings: vcs("true")}, "1.4.2", rev},
		{"linker, nothing recorded", "9.9.9", nil, "9.9.9", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, r := identify(tc.override, tc.bi)
			if v != tc.version || r != tc.revision {
				t.Errorf("identify = %q, %q; want %q, %q", v, r, tc.version, tc.revision)
			}
		})
	}
}

// The README's way to set the version works: the variable's path is right.
func TestLinkerSetsTheVersion(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "version")
	const flag = "-X github.com/uberservice/uberservice/platform/build.version=1.4.2-test"
	if out, err := exec.Command("go", "build", "-ldflags", flag, "-o", bin, "./testdata/version").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(out)); got != "1.4.2-test" {
		t.Fatalf("version %q, want 1.4.2-test", got)
	}
}
