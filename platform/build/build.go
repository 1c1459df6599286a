// Package build says which build of uberservice is running: its version and
// the VCS revision it was built from. Every place that names the binary (the
// metrics' uberservice_build_info, the traces' service.version, /readyz, the
// Uberservice-Instance header, the producer_version of every event, the log
// lines) asks here, so that they all say the same thing.
//
// A release sets the version at link time:
//
//	go build -ldflags "-X github.com/uberservice/uberservice/platform/build.version=1.4.2" ./cmd/uberservice
//
// Without it, the version is what the Go toolchain recorded (see Version).
package build

import (
	"runtime/debug"
	"sync"
)

// version is set with -ldflags "-X <this package>.version=...". Empty, the
// build's own record decides.
var version string

// Unknown is the version of a binary that records neither a module version
// nor a VCS revision (a test binary, a build with -buildvcs=false), as the
// Go toolchain itself names the main module's version then.
const Unknown = "(devel)"

var read = sync.OnceValues(func() (string, string) {
	bi, _ := debug.ReadBuildInfo() // nil when the binary records none
	return identify(version, bi)
})

// Version is the running binary's version, the first of:
//   - what -ldflags -X set (see the package doc);
//   - the main module's version, as `go install ...@v1.4.2` or a build in a
//     tagged checkout records it (Go's pseudo-version otherwise, which names
//     the commit and says +dirty for a modified work tree);
//   - the VCS revision, short (12 hex digits, as Go's pseudo-versions have
//     it), with "+dirty" when the work tree was modified;
//   - Unknown.
func Version() string { v, _ := read(); return v }

// Revision is the full VCS revision the binary was built from, or "" when
// the build recorded none.
func Revision() string { _, r := read(); return r }

// identify is Version and Revision from what was set at link time and what
// the build recorded (nil: nothing).
func identify(override string, bi *debug.BuildInfo) (version, revision string) {
	modified := false
	var main string
	if bi != nil {
		main = bi.Main.Version
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	switch {
	case override != "":
		return override, revision
	case main != "" && main != Unknown:
		return main, revision
	case revision != "":
		short := revision[:min(len(revision), 12)]
		if modified {
			short += "+dirty"
		}
		return short, revision
	}
	return Unknown, revision
}
