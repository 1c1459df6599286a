// Package cluster launches topologies of the real uberservice binary: one
// process per group of modules, each module on a free loopback port, the
// processes reaching each other through --peer, all on one database and one
// bus. It is what the end-to-end tests and the benchmarks run.
//
// Build the binary once, then Start a Topology with a Config. Start returns
// when every module of every process answers GET /readyz with 200. The
// Cluster then gives each module's URL, each process's PID (for RSS and CPU
// sampling, see RSS and CPUTime), and stops, kills and restarts processes.
// Close stops what still runs and removes what the cluster made: its fresh
// database, its namespace on a shared broker and its log files. A test calls
// StartTB instead, which fails the test when the cluster does not start and
// closes it when the test ends.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// RepoRoot is the folder of the go.mod of the module the current directory
// belongs to: `go env GOMOD`, or the nearest parent with a go.mod.
func RepoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err == nil {
		if gomod := strings.TrimSpace(string(out)); gomod != "" && gomod != os.DevNull {
			return filepath.Dir(gomod), nil
		}
	}
	dir, absErr := os.Getwd()
	if absErr != nil {
		return "", errors.Join(err, absErr)
	}
	for {
		if _, statErr := os.Stat(filepath.Join(dir, "go.mod")); statErr == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("cluster: no go.mod in the current folder or above: %w", err)
		}
		dir = parent
	}
}

// BuildOptions configure Build.
type BuildOptions struct {
	// Root is the repository root; default RepoRoot().
	Root string
	// Flags are extra `go build` flags, e.g. "-trimpath".
	Flags []string
	// Env is added to the environment of `go build`, e.g. "CGO_ENABLED=0".
	Env []string
}

// Build compiles ./cmd/uberservice into dir and returns the binary's path.
func Build(ctx context.Context, dir string, opts BuildOptions) (string, error) {
	root := opts.Root
	if root == "" {
		var err error
		if root, err = RepoRoot(); err != nil {
			return "", err
		}
	}
	binary, err := filepath.Abs(filepath.Join(dir, "uberservice"))
	if err != nil {
		return "", err
	}
	args := append([]string{"build"}, opts.Flags...)
	args = append(args, "-o", binary, "./cmd/uberservice")
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), opts.Env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cluster: go %s in %s: %w\n%s", strings.Join(args, " "), root, err, out)
	}
	return binary, nil
}
