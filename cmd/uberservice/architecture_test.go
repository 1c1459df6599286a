package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/uberservice/uberservice/platform/app"
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

// A module's Init does what its declaration says, per topic and per gateway:
// it handles exactly the topics it declares in Consumes (a handler for an
// undeclared topic, even of a context it consumes from, would consume what no
// deployment provisions), resolves only gateways it declares in Uses and
// provides only its own. Every consumed topic is published by a module of the
// binary, so a misspelt topic fails here and not as events that never come.
func TestModulesDoWhatTheyDeclare(t *testing.T) {
	published := map[string]string{} // topic -> its publisher
	for _, m := range modules {
		for _, topic := range m.Publishes {
			if other, dup := published[topic]; dup {
				t.Errorf("modules %s and %s both publish %s", other, m.Name, topic)
			}
			published[topic] = m.Name
		}
	}
	for _, m := range modules {
		got, err := app.Inspect(t.Context(), m)
		if err != nil {
			t.Errorf("module %s: Init: %v", m.Name, err)
			continue
		}
		for _, why := range declarationProblems(m, got, published) {
			t.Error(why)
		}
	}
}

// declarationProblems says how what m's Init did (in) departs from what m
// declares; published maps every topic of the binary to its publisher.
func declarationProblems(m app.Module, in app.Inspection, published map[string]string) []string {
	var out []string
	for _, topic := range in.Handles {
		if !slices.Contains(m.Consumes, topic) {
			ctx, _, _ := strings.Cut(topic, ".")
			out = append(out, fmt.Sprintf("module %s handles %s but does not declare it in Consumes (declaring other topics of %s is not enough)",
				m.Name, topic, ctx))
		}
	}
	for _, topic := range m.Consumes {
		if !slices.Contains(in.Handles, topic) {
			out = append(out, fmt.Sprintf("module %s declares it consumes %s but registers no handler for it", m.Name, topic))
		}
		if _, ok := published[topic]; !ok {
			out = append(out, fmt.Sprintf("module %s consumes %s, which no module of the binary publishes", m.Name, topic))
		}
	}
	for _, g := range in.Resolves {
		if !slices.ContainsFunc(m.Uses, func(d app.Dependency) bool { return d.Gateway == g }) {
			out = append(out, fmt.Sprintf("module %s resolves the %s gateway but does not declare it in Uses", m.Name, g))
		}
	}
	for _, g := range in.Provides {
		if g != m.Name {
			out = append(out, fmt.Sprintf("module %s provides the %s gateway, which is another module's", m.Name, g))
		}
	}
	return out
}

// Every package that declares a module (a func Module() app.Module) is in
// main's list: a module missing from it would build, and be tested on its
// own, but never run.
func TestEveryModuleIsListed(t *testing.T) {
	root, _ := repoRoot(t)
	listed := map[string]bool{}
	for _, m := range modules {
		listed[packageDir(t, root, m.Name)] = true
	}
	for _, why := range unlisted(t, root, listed) {
		t.Error(why)
	}
}

// unlisted names every package under root's modules/ and gateway/ that
// declares a module not in listed (package directories, relative to root).
func unlisted(t *testing.T, root string, listed map[string]bool) []string {
	t.Helper()
	var out []string
	found := 0
	for _, top := range []string{"modules", "gateway"} {
		dirs, err := os.ReadDir(filepath.Join(root, top))
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range dirs {
			dir := top + "/" + d.Name()
			if !d.IsDir() || !declaresModule(t, filepath.Join(root, dir)) {
				continue
			}
			found++
			if !listed[dir] {
				out = append(out, fmt.Sprintf("%s declares a module (func Module() app.Module) that cmd/uberservice/main.go does not list: add %s.Module() to its modules",
					dir, d.Name()))
			}
		}
	}
	if found == 0 {
		t.Fatalf("no package under %s declares a module; the walk found nothing", root)
	}
	return out
}

// declaresModule reports whether the package in dir has a top-level
// func Module() app.Module.
func declaresModule(t *testing.T, dir string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", file, err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || fn.Name.Name != "Module" || fn.Type.Results == nil || len(fn.Type.Results.List) != 1 {
				continue
			}
			if sel, ok := fn.Type.Results.List[0].Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Module" {
				return true
			}
		}
	}
	return false
}

// Every module's public API runs through the platform's bad-input suite
// (apptest's RefusesBadInput), which fails for a route without an example: a
// module that never calls it would have its routes held to nothing.
func TestEveryModuleRunsTheBadInputSuite(t *testing.T) {
	root, _ := repoRoot(t)
	for _, m := range modules {
		dir := packageDir(t, root, m.Name)
		if !callsInTests(t, filepath.Join(root, dir), "RefusesBadInput") {
			t.Errorf("no test of %s calls RefusesBadInput: give every public route of %s an example", dir, m.Name)
		}
	}
}

func TestCallsInTestsCatchesAMissingCall(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a_test.go", "package a\nfunc TestA() { sys.RefusesBadInputLater() }\n")
	write("b.go", "package a\nfunc b() { sys.RefusesBadInput() }\n")
	if callsInTests(t, dir, "RefusesBadInput") {
		t.Error("a call in a non-test file, or of another name, counted")
	}
	write("c_test.go", "package a\nfunc TestC() { sys.RefusesBadInput(t, \"m\") }\n")
	if !callsInTests(t, dir, "RefusesBadInput") {
		t.Error("the call in c_test.go was not found")
	}
}

// callsInTests reports whether a test file of the package in dir calls a
// function or method named name.
func callsInTests(t *testing.T, dir, name string) bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", file, err)
		}
		found := false
		ast.Inspect(f, func(n ast.Node) bool {
			if call, ok := n.(*ast.CallExpr); ok {
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == name {
					found = true
				}
			}
			return !found
		})
		if found {
			return true
		}
	}
	return false
}

// A gateway package is light to import: a module calling a gateway gets its
// contract, not the runtime. Only the gateways that are themselves modules
// (the portal) may depend on it.
func TestGatewaysAreLight(t *testing.T) {
	root, modPath := repoRoot(t)
	heavy := []string{
		"gorm.io/gorm", "github.com/ThreeDotsLabs/watermill", "github.com/jackc/pgx/v5",
		"github.com/fergusstrange/embedded-postgres", "github.com/golang-migrate/migrate/v4",
		modPath + "/platform/app", modPath + "/platform/database", modPath + "/platform/messaging", modPath + "/platform/pgembed",
	}
	moduleDirs := map[string]bool{}
	for _, m := range modules {
		moduleDirs[packageDir(t, root, m.Name)] = true
	}
	cmd := exec.Command("go", "list", "-deps=false", "-f", "{{.ImportPath}} {{join .Deps \" \"}}", "./gateway/...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./gateway/...: %v", err)
	}
	checked := 0
	for line := range strings.Lines(string(out)) {
		pkg, deps, _ := strings.Cut(strings.TrimSpace(line), " ")
		rel := strings.TrimPrefix(pkg, modPath+"/")
		if moduleOf := strings.Join(strings.Split(rel, "/")[:2], "/"); moduleDirs[moduleOf] || strings.HasSuffix(rel, "/contracttest") {
			continue // a module, or a test suite: neither is imported by the modules that call the gateway
		}
		checked++
		for _, dep := range strings.Fields(deps) {
			for _, h := range heavy {
				if dep == h || strings.HasPrefix(dep, h+"/") {
					t.Errorf("%s depends on %s: a gateway package must not pull the runtime into every module that calls it", rel, dep)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no gateway package was checked")
	}
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

// The new checks must catch what they are for: a handler for an undeclared
// topic of a context the module does consume, a topic nobody publishes, an
// undeclared gateway, another module's gateway provided, and a module that
// main does not list.
func TestDeclarationChecksCatchBreaches(t *testing.T) {
	im := app.Module{
		Name:     "im",
		Uses:     []app.Dependency{{Gateway: "accounts"}},
		Consumes: []string{"accounts.account_created.v1", "accounts.acount_closed.v1"},
	}
	did := app.Inspection{
		Handles:  []string{"accounts.account_created.v1", "accounts.acount_closed.v1", "accounts.funds_deposited.v1"},
		Resolves: []string{"accounts", "orders"},
		Provides: []string{"accounts", "im"},
	}
	published := map[string]string{"accounts.account_created.v1": "accounts", "accounts.funds_deposited.v1": "accounts"}
	got := strings.Join(declarationProblems(im, did, published), "\n")
	for _, want := range []string{
		"module im handles accounts.funds_deposited.v1 but does not declare it in Consumes (declaring other topics of accounts is not enough)",
		"module im consumes accounts.acount_closed.v1, which no module of the binary publishes",
		"module im resolves the orders gateway but does not declare it in Uses",
		"module im provides the accounts gateway, which is another module's",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "\n") + 1; n != 4 {
		t.Errorf("%d problems, want 4:\n%s", n, got)
	}

	root := t.TempDir()
	for dir, src := range map[string]string{
		"modules/accounts/module.go": "package accounts\n\nimport \"x/platform/app\"\n\nfunc Module() app.Module { return app.Module{} }\n",
		"modules/loyalty/module.go":  "package loyalty\n\nimport \"x/platform/app\"\n\nfunc Module() app.Module { return app.Module{} }\n",
		"modules/loyalty/points.go":  "package loyalty\n\nfunc points() int { return 1 }\n",
		"gateway/loyalty/loyalty.go": "package loyalty\n\ntype Loyalty interface{ Points() int }\n",
	} {
		path := filepath.Join(root, dir)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	missing := unlisted(t, root, map[string]bool{"modules/accounts": true})
	want := "modules/loyalty declares a module (func Module() app.Module) that cmd/uberservice/main.go does not list: add loyalty.Module() to its modules"
	if len(missing) != 1 || missing[0] != want {
		t.Errorf("unlisted = %q, want [%q]", missing, want)
	}
}
