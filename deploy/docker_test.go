package deploy_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The Dockerfile and its build context.

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper case: FROM, RUN, ...
	args string
}

// parseDockerfile reads instructions, joining lines that end in a backslash and
// dropping comments, as BuildKit does for this Dockerfile's subset of the syntax.
func parseDockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if body, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		out = append(out, instruction{cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
		cur.Reset()
	}
	return out
}

// goBuild is a `go build` command line, taken apart.
type goBuild struct {
	env    []string // NAME=VALUE before the command
	flags  []string // every flag except -o, in order
	output string   // the -o value
	pkgs   []string
}

// parseGoBuild takes apart the first `go build` in a shell command line, where
// the go command is called goCmd ("go", or "$(GO)" in the Makefile).
func parseGoBuild(line, goCmd string) (goBuild, bool) {
	words := shellFields(line)
	var b goBuild
	i := 0
	for ; i+1 < len(words) && !(words[i] == goCmd && words[i+1] == "build"); i++ {
		if strings.Contains(words[i], "=") && !strings.HasPrefix(words[i], "-") {
			b.env = append(b.env, words[i])
		} else {
			b.env = nil // a word that is not an assignment ends any prefix
		}
	}
	if i+1 >= len(words) {
		return goBuild{}, false
	}
	for j := i + 2; j < len(words); j++ {
		w := words[j]
		switch {
		case w == "&&" || w == ";" || w == "|" || w == "||":
			return b, true
		case w == "-o" && j+1 < len(words):
			j++
			b.output = words[j]
		case strings.HasPrefix(w, "-o="):
			b.output = strings.TrimPrefix(w, "-o=")
		case strings.HasPrefix(w, "-"):
			b.flags = append(b.flags, w)
		default:
			b.pkgs = append(b.pkgs, w)
		}
	}
	return b, true
}

// shellFields splits a command line into words as a POSIX shell does for quotes
// and backslashes; it expands nothing.
func shellFields(s string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else if r == '\\' && quote == '"' && i+1 < len(rs) && strings.ContainsRune(`"\$`+"`", rs[i+1]) {
				i++
				w.WriteRune(rs[i])
			} else {
				w.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == '\\' && i+1 < len(rs):
			i++
			w.WriteRune(rs[i])
			inWord = true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// makeBuild is the `go build` of the Makefile's build target.
func makeBuild(t *testing.T) goBuild {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	inBuild := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "build:"):
			inBuild = true
		case inBuild && strings.HasPrefix(line, "\t"):
			if b, ok := parseGoBuild(line, "$(GO)"); ok {
				return b
			}
		case inBuild:
			inBuild = false
		}
	}
	t.Fatal("Makefile: the build target has no `$(GO) build` line")
	return goBuild{}
}

func TestDockerfileBuildsTheBinaryAsMakeBuildDoes(t *testing.T) {
	want := makeBuild(t)
	if !slices.Contains(want.env, "CGO_ENABLED=0") || !slices.Equal(want.pkgs, []string{"./cmd/uberservice"}) {
		t.Errorf("Makefile build target: want CGO_ENABLED=0 go build ... ./cmd/uberservice, got env %q packages %q", want.env, want.pkgs)
	}
	var got []goBuild
	for _, in := range parseDockerfile(t, filepath.Join(root, "Dockerfile")) {
		if in.cmd != "RUN" {
			continue
		}
		if b, ok := parseGoBuild(in.args, "go"); ok {
			got = append(got, b)
		}
	}
	if len(got) != 1 {
		t.Fatalf("Dockerfile: want exactly one RUN with `go build`, found %d", len(got))
	}
	b := got[0]
	if !slices.Equal(b.env, want.env) {
		t.Errorf("Dockerfile go build environment %q, Makefile's build target %q: keep them the same", b.env, want.env)
	}
	if !slices.Equal(b.flags, want.flags) {
		t.Errorf("Dockerfile go build flags %q, Makefile's build target %q: keep them the same", b.flags, want.flags)
	}
	if !slices.Equal(b.pkgs, want.pkgs) {
		t.Errorf("Dockerfile builds %q, Makefile's build target %q", b.pkgs, want.pkgs)
	}
	if b.output == "" {
		t.Error("Dockerfile: go build has no -o")
	}
}

func TestDockerfileFinalStage(t *testing.T) {
	ins := parseDockerfile(t, filepath.Join(root, "Dockerfile"))
	var output string // where go build writes the binary
	last := -1        // the final stage's FROM
	for i, in := range ins {
		if in.cmd == "FROM" {
			last = i
		}
		if in.cmd != "RUN" {
			continue
		}
		if b, ok := parseGoBuild(in.args, "go"); ok {
			output = b.output
		}
	}
	if last < 0 {
		t.Fatal("Dockerfile: no FROM")
	}
	base := strings.Fields(ins[last].args)[0]
	if !strings.HasPrefix(base, "gcr.io/distroless/static") || !strings.HasSuffix(base, ":nonroot") {
		t.Errorf("final stage FROM %s: want gcr.io/distroless/static-*:nonroot, a static base without shell or root", base)
	}
	var user, entrypoint, cmd string
	copied := false
	for _, in := range ins[last+1:] {
		switch in.cmd {
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			entrypoint = in.args
		case "CMD":
			cmd = in.args
		case "COPY":
			f := strings.Fields(in.args)
			copied = copied || (len(f) == 3 && strings.HasPrefix(f[0], "--from=") && f[1] == output && f[2] == "/uberservice")
		}
	}
	if !copied {
		t.Errorf("final stage: want COPY --from=<build stage> %s /uberservice", output)
	}
	// Numeric, so that Kubernetes' runAsNonRoot can check it; and not root.
	uid, _, _ := strings.Cut(user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 {
		t.Errorf("final stage USER %q: want a numeric non-root user (65532 is distroless' nonroot)", user)
	}
	if !jsonEqual(entrypoint, []string{"/uberservice"}) {
		t.Errorf(`ENTRYPOINT %s: want ["/uberservice"]`, entrypoint)
	}
	if !jsonEqual(cmd, []string{"run"}) {
		t.Errorf(`CMD %s: want ["run"]`, cmd)
	}
}

// jsonEqual reports whether the exec form s is exactly want.
func jsonEqual(s string, want []string) bool {
	var got []string
	return json.Unmarshal([]byte(s), &got) == nil && slices.Equal(got, want)
}

// The build context must hold everything `go build ./cmd/uberservice` reads:
// go.mod, go.sum and the Go and embedded files of every package of the module
// it builds.
func TestDockerignoreKeepsWhatTheBuildNeeds(t *testing.T) {
	patterns := readDockerignore(t)
	cmd := exec.Command("go", "list", "-deps", "-f",
		`{{if and .Module .Module.Main}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$d}}/{{.}}{{"\n"}}{{end}}{{end}}`,
		"./cmd/uberservice")
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"go.mod", "go.sum"}
	for _, f := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(abs, f)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.ToSlash(rel))
	}
	if len(files) < 10 {
		t.Fatalf("go list found only %v; the check would prove nothing", files)
	}
	for _, f := range files {
		if dockerignored(patterns, f) {
			t.Errorf(".dockerignore excludes %s, which the build needs", f)
		}
	}
	// deploy/keys: the private keys compose.yaml mounts, never in an image.
	for _, f := range []string{".git/HEAD", "bin/uberservice", "deploy/" + keysFolder + "/operator.key"} {
		if !dockerignored(patterns, f) {
			t.Errorf(".dockerignore lets %s into the build context", f)
		}
	}
}

func readDockerignore(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		neg := strings.HasPrefix(line, "!")
		p := strings.TrimPrefix(filepath.ToSlash(filepath.Clean(strings.TrimPrefix(line, "!"))), "/")
		if neg {
			p = "!" + p
		}
		patterns = append(patterns, p)
	}
	return patterns
}

// dockerignored applies .dockerignore's rules to path: "*" and "?" within a
// folder name, "**" for any number of folders (no character classes), a
// pattern that matches a folder excludes what is in it, "!" re-includes, and
// the last matching pattern wins.
func dockerignored(patterns []string, path string) bool {
	ignored := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		re := globRegexp(strings.TrimPrefix(p, "!"))
		for prefix := path; prefix != "."; prefix = filepath.ToSlash(filepath.Dir(prefix)) {
			if re.MatchString(prefix) {
				ignored = !neg
				break
			}
		}
	}
	return ignored
}

func globRegexp(p string) *regexp.Regexp {
	var re strings.Builder
	re.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case strings.HasPrefix(p[i:], "**/"):
			re.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			re.WriteString(".*")
			i++
		case c == '*':
			re.WriteString("[^/]*")
		case c == '?':
			re.WriteString("[^/]")
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String())
}

func TestDockerignoreMatching(t *testing.T) {
	patterns := []string{"bin", "**/*_test.go", "docs", "!docs/keep.md"}
	for path, want := range map[string]bool{
		"bin/uberservice":          true,
		"binary/x.go":              false,
		"a_test.go":                true,
		"platform/app/cli_test.go": true,
		"platform/app/cli.go":      false,
		"docs/x.md":                true,
		"docs/keep.md":             false,
	} {
		if got := dockerignored(patterns, path); got != want {
			t.Errorf("dockerignored(%q) = %v, want %v", path, got, want)
		}
	}
}
