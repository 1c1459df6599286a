package deploy

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
)

// Write writes files under dir, creating the folders they go in, and removes
// from those folders every file rendered before that files no longer has, the
// manifest of a module since taken out of the binary, say. A file without the
// Header is kept by hand, and Write removes none.
func Write(dir string, files []File) error {
	written := map[string]bool{}
	var folders []string
	for _, f := range files {
		written[path.Clean(f.Path)] = true
		if d := path.Dir(path.Clean(f.Path)); !slices.Contains(folders, d) {
			folders = append(folders, d)
		}
	}
	for _, f := range files {
		name := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return fmt.Errorf("deploy: %w", err)
		}
		if err := os.WriteFile(name, f.Data, 0o644); err != nil {
			return fmt.Errorf("deploy: %w", err)
		}
	}
	for _, folder := range folders {
		entries, err := os.ReadDir(filepath.Join(dir, filepath.FromSlash(folder)))
		if err != nil {
			return fmt.Errorf("deploy: %w", err)
		}
		for _, e := range entries {
			if !e.Type().IsRegular() || written[path.Join(folder, e.Name())] {
				continue
			}
			name := filepath.Join(dir, filepath.FromSlash(folder), e.Name())
			data, err := os.ReadFile(name)
			if err != nil {
				return fmt.Errorf("deploy: %w", err)
			}
			if Generated(data) {
				if err := os.Remove(name); err != nil {
					return fmt.Errorf("deploy: remove a file no longer rendered: %w", err)
				}
			}
		}
	}
	return nil
}
