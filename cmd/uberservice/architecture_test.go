package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The dependency rules of ARCHITECTURE.md, checked against every Go file's
// imports. Which contexts a module may call or listen to is declared once, in
// its Module value (Uses and Consumes); this test holds the imports to it.
//
//   - modules/X imports gateway/C only when C is X's own context or in X.Uses,
//     and gateway/C/events only when C is X's own or X consumes C's events;
//   - modules/X never imports modules/Y, except in tests, and then only a Y
//     that X declares it depends on;
//   - gateway/C imports platform/ and libraries, never modules/, and another
//     gateway only when gateway/C is itself a module (the portal) that uses it;
//   - platform/ imports no gateway/, modules/ or migrations/.
func TestModuleBoundaries(t *testing.T) {
	root, modPath := repoRoot(t)
	declared := map[string]declaration{} // by package directory, relative to root
	for _, m := range modules {
		dir := packageDir(t, root, m.Name)
		d := declaration{name: m.Name}
		for _, u := range m.Uses {
			d.uses = append(d.uses, u.Gateway)
		}
		for _, topic := range m.Consumes {
			ctx, _, _ := strings.Cut(topic, ".")
			if !slices.Contains(d.consumes, ctx) {
				d.consumes = append(d.consumes, ctx)
			}
		}
		declared[dir] = d
	}
	checked := 0
	err := filepath.WalkDir(root, func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && (strings.HasPrefix(e.Name(), ".") || e.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if e.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			t.Errorf("parse %s: %v", rel, err)
			return nil
		}
		for _, imp := range f.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if !strings.HasPrefix(p, modPath+"/") {
				continue
			}
			checked++
			if why := violation(rel, strings.TrimPrefix(p, modPath+"/"), declared); why != "" {
				t.Errorf("%s imports %s: %s", rel, p, why)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("no project imports were checked; the walk found nothing")
	}
}

type declaration struct {
	name     string
	uses     []string
	consumes []string
}

// violation says why the file at rel may not import the project package imp
// (both relative to the repository root), or "" when it may.
func violation(rel, imp string, declared map[string]declaration) string {
	dir := filepath.ToSlash(filepath.Dir(rel))
	test := strings.HasSuffix(rel, "_test.go")
	top := func(p string) string { s, _, _ := strings.Cut(p, "/"); return s }
	switch top(dir) {
	case "platform":
		if t := top(imp); t == "modules" || t == "gateway" || t == "migrations" {
			return "platform/ knows no domain"
		}
		return ""
	case "modules", "gateway":
	default:
		return "" // cmd/, e2e/, migrations/ see everything
	}
	decl, isModule := moduleOf(dir, declared)
	parts := strings.Split(imp, "/")
	switch parts[0] {
	case "modules":
		if len(parts) < 2 {
			return ""
		}
		if isModule && parts[1] == decl.name {
			return ""
		}
		if test && isModule && (slices.Contains(decl.uses, parts[1]) || slices.Contains(decl.consumes, parts[1])) {
			return "" // a component test may start a module this one depends on
		}
		return "no module imports another module"
	case "gateway":
		if len(parts) < 2 {
			return ""
		}
		ctx := parts[1]
		if !isModule {
			if strings.HasPrefix(dir, "gateway/"+ctx) {
				return ""
			}
			return "a gateway package depends on no other context"
		}
		if ctx == decl.name || strings.HasPrefix(dir, "gateway/"+ctx) {
			return "" // its own contract and events
		}
		if len(parts) >= 3 && parts[2] == "events" {
			if slices.Contains(decl.consumes, ctx) {
				return ""
			}
			return "module " + decl.name + " does not declare that it consumes " + ctx + " events (Module.Consumes)"
		}
		if slices.Contains(decl.uses, ctx) {
			return ""
		}
		return "module " + decl.name + " does not declare that it uses the " + ctx + " gateway (Module.Uses)"
	}
	return ""
}

// moduleOf finds the declared module whose package contains dir.
func moduleOf(dir string, declared map[string]declaration) (declaration, bool) {
	for pkg, d := range declared {
		if dir == pkg || strings.HasPrefix(dir, pkg+"/") {
			return d, true
		}
	}
	return declaration{}, false
}

// packageDir is the folder of the module called name: modules/<name>, or
// gateway/<name> for a gateway that is itself a module (the portal).
func packageDir(t *testing.T, root, name string) string {
	t.Helper()
	for _, dir := range []string{"modules/" + name, "gateway/" + name} {
		if st, err := os.Stat(filepath.Join(root, dir)); err == nil && st.IsDir() {
			return dir
		}
	}
	t.Fatalf("module %s lives in neither modules/%s nor gateway/%s", name, name, name)
	return ""
}

func repoRoot(t *testing.T) (root, modPath string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if p, ok := strings.CutPrefix(line, "module "); ok {
			return root, strings.TrimSpace(p)
		}
	}
	t.Fatal("go.mod names no module")
	return "", ""
}

// The core domain knows nobody: accounts calls no gateway and consumes no
// events, so nothing it does can depend on another context being up.
func TestAccountsKnowsNobody(t *testing.T) {
	for _, m := range modules {
		if m.Name == "accounts" && (len(m.Uses) > 0 || len(m.Consumes) > 0) {
			t.Fatalf("accounts declares Uses %v and Consumes %v; the core domain must depend on nothing", m.Uses, m.Consumes)
		}
	}
}

// The boundary check itself must catch what it is for.
func TestViolationCatchesBreaches(t *testing.T) {
	declared := map[string]declaration{
		"modules/accounts": {name: "accounts"},
		"modules/im":       {name: "im", uses: []string{"accounts"}, consumes: []string{"accounts"}},
		"gateway/portal":   {name: "portal", uses: []string{"accounts", "im"}},
	}
	cases := []struct {
		file, imp string
		ok        bool
	}{
		{"modules/im/service.go", "gateway/accounts", true},
		{"modules/im/service.go", "gateway/accounts/events", true},
		{"modules/im/service.go", "modules/accounts", false},
		{"modules/im/im_test.go", "modules/accounts", true},
		{"modules/accounts/service.go", "gateway/im", false},
		{"modules/accounts/accounts_test.go", "modules/im", false},
		{"modules/accounts/service.go", "gateway/accounts/events", true},
		{"gateway/portal/portal.go", "gateway/im", true},
		{"gateway/portal/portal.go", "gateway/im/events", false},
		{"gateway/accounts/http.go", "gateway/im", false},
		{"gateway/accounts/http.go", "modules/accounts", false},
		{"platform/app/app.go", "gateway/accounts", false},
		{"platform/app/app.go", "platform/web", true},
	}
	for _, c := range cases {
		why := violation(c.file, c.imp, declared)
		if (why == "") != c.ok {
			t.Errorf("%s importing %s: got %q, want allowed=%v", c.file, c.imp, why, c.ok)
		}
	}
}
