package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uberservice/uberservice/platform/deploy"
)

func TestDeployRendersEachTargetIntoOut(t *testing.T) {
	modules := []Module{{Name: "accounts", Port: 8081}, {Name: "portal", Port: 8080}}
	for _, tc := range []struct {
		args  func(dir string) []string
		files map[string]string // file -> a line it must have
	}{
		{
			func(dir string) []string { return []string{"deploy", "compose", "--out", dir} },
			map[string]string{"compose.yaml": "UBERSERVICE_LISTEN: portal=:8080"},
		},
		{
			// The flags may come before the target too.
			func(dir string) []string { return []string{"deploy", "--out", dir, "compose"} },
			map[string]string{"compose.yaml": "UBERSERVICE_LISTEN: accounts=:8081"},
		},
		{
			func(dir string) []string { return []string{"deploy", "kubernetes", "--out", dir} },
			map[string]string{
				"k8s/base/accounts.yaml":         "containerPort: 8081",
				"k8s/base/portal.yaml":           "containerPort: 8080",
				"k8s/base/kustomization.yaml":    "  - portal.yaml",
				"k8s/migrate/job.yaml":           "kind: Job",
				"k8s/migrate/kustomization.yaml": "  - job.yaml",
			},
		},
	} {
		dir := t.TempDir()
		args := tc.args(dir)
		var stdout, stderr bytes.Buffer
		if code := run(args, modules, &stdout, &stderr); code != 0 {
			t.Fatalf("uberservice %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
		}
		for f, line := range tc.files {
			data, err := os.ReadFile(filepath.Join(dir, f))
			switch {
			case err != nil:
				t.Errorf("uberservice %s: %v", strings.Join(args, " "), err)
			case !deploy.Generated(data) || !bytes.Contains(data, []byte(line+"\n")):
				t.Errorf("uberservice %s: %s is not the rendering of the modules:\n%s", strings.Join(args, " "), f, data)
			}
			if !strings.Contains(stdout.String(), dir+"/"+f+"\n") {
				t.Errorf("uberservice %s: stdout %q does not name %s", strings.Join(args, " "), stdout.String(), f)
			}
		}
	}
}

func TestDeployUsageErrors(t *testing.T) {
	modules := []Module{{Name: "accounts", Port: 8081}}
	for _, args := range [][]string{
		{"deploy"},
		{"deploy", "helm"},
		{"deploy", "compose", "extra"},
		{"deploy", "compose", "--out", t.TempDir(), "extra"},
		{"deploy", "compose", "--bogus"},
	} {
		var stderr bytes.Buffer
		if code := run(args, modules, &bytes.Buffer{}, &stderr); code != 2 {
			t.Errorf("uberservice %s: exit %d, want 2 (usage)\n%s", strings.Join(args, " "), code, stderr.String())
		}
	}
}
