package docs_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// docs/modules.md is what `uberservice modules --format markdown` renders
// from the binary's modules now: a module, topic, payload field or gateway
// method changed without `make docs` fails here.
func TestModulesDocumentIsCurrent(t *testing.T) {
	binary := filepath.Join(t.TempDir(), "uberservice")
	build := exec.Command("go", "build", "-o", binary, "./cmd/uberservice")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/uberservice: %v\n%s", err, out)
	}
	var stderr bytes.Buffer
	render := exec.Command(binary, "modules", "--format", "markdown")
	render.Stderr = &stderr
	fresh, err := render.Output()
	if err != nil {
		t.Fatalf("uberservice modules --format markdown: %v\n%s", err, stderr.String())
	}
	if !bytes.Contains(fresh, []byte("```mermaid")) {
		t.Fatalf("the render has no module map; the check would prove little:\n%s", fresh)
	}
	committed, err := os.ReadFile("modules.md")
	if err != nil {
		t.Fatalf("%v: run `make docs`, and commit the result", err)
	}
	if !bytes.Equal(committed, fresh) {
		t.Errorf("docs/modules.md differs from what `uberservice modules --format markdown` renders now, from line %d on: run `make docs`, and commit the result",
			firstDifference(string(committed), string(fresh)))
	}
}

// firstDifference is the number of the first line where a and b differ.
func firstDifference(a, b string) int {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}
