package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/uberservice/uberservice/internal/cluster"
)

// beforeBinary is the binary of an earlier revision (-before REV), which
// scenarios 3b and 6 measure beside the current one: the "before" of a
// before/after comparison.
type beforeBinary struct {
	Rev       string `json:"rev"`    // as given to -before
	Commit    string `json:"commit"` // its full hash
	Short     string `json:"short"`
	Binary    string `json:"-"`
	catalogue cluster.Catalogue
}

// notMeasuredBefore is what a row or target about the before binary says
// when the run has none.
const notMeasuredBefore = "not measured (run with -before REV)"

// label names the before binary in tables: "before (b8b0945)".
func (b *beforeBinary) label() string { return "before (" + b.Short + ")" }

// buildBefore builds ./cmd/uberservice of rev as the current binary is
// built (CGO_ENABLED=0 go build -trimpath), into scratch/uberservice-before:
// the revision's tree is exported with git archive into scratch/before, the
// binary built there, and the tree removed.
func buildBefore(ctx context.Context, scratch, rev string) (*beforeBinary, error) {
	root, err := cluster.RepoRoot()
	if err != nil {
		return nil, err
	}
	git := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, "git", append([]string{"-C", root}, args...)...).CombinedOutput()
		if err != nil {
			return "", fmt.Errorf("git %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out)), nil
	}
	b := &beforeBinary{Rev: rev}
	if b.Commit, err = git("rev-parse", "--verify", "--end-of-options", rev+"^{commit}"); err != nil {
		return nil, fmt.Errorf("-before %s: not a commit of the repository at %s: %w", rev, root, err)
	}
	if b.Short, err = git("rev-parse", "--short", b.Commit); err != nil {
		return nil, fmt.Errorf("-before %s: %w", rev, err)
	}
	src := filepath.Join(scratch, "before")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return nil, err
	}
	defer os.RemoveAll(src)
	tarball := filepath.Join(scratch, "before.tar")
	defer os.Remove(tarball)
	if _, err := git("archive", "--format=tar", "-o", tarball, b.Commit); err != nil {
		return nil, fmt.Errorf("-before %s: export the tree: %w", rev, err)
	}
	if out, err := exec.CommandContext(ctx, "tar", "-x", "-f", tarball, "-C", src).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("-before %s: tar -x: %w\n%s", rev, err, out)
	}
	built, err := cluster.Build(ctx, filepath.Join(scratch, "before-bin"), cluster.BuildOptions{
		Root: src, Flags: []string{"-trimpath"}, Env: []string{"CGO_ENABLED=0"}})
	if err != nil {
		return nil, fmt.Errorf("-before %s: the revision does not build: %w", rev, err)
	}
	b.Binary = filepath.Join(scratch, "uberservice-before")
	if err := os.Rename(built, b.Binary); err != nil {
		return nil, err
	}
	if b.catalogue, err = cluster.ReadCatalogue(ctx, b.Binary); err != nil {
		return nil, fmt.Errorf("-before %s: %w", rev, err)
	}
	return b, nil
}

// beforeOneProcess runs every module of the before binary in one process,
// as oneProcess does the current one's.
func (e *env) beforeOneProcess() cluster.Topology {
	return cluster.OneProcess(e.before.label()+", every module in one process (gochannel)", "gochannel", e.before.catalogue)
}

// beforeConfig is config with the before binary.
func (e *env) beforeConfig() cluster.Config {
	cfg := e.config()
	cfg.Binary = e.before.Binary
	return cfg
}
