package deploy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// These tests hold the deployment configuration to the binary it deploys. The
// modules, their ports and the gateways they call come from the binary itself
// (`uberservice modules --format json`), and so do the files: `uberservice
// deploy` renders them from the same modules. A module added to cmd/uberservice
// fails here until `make deploy` has rendered the files again.

// root is the repository's root, seen from this package's folder.
const root = ".."

const (
	// nameLabel and componentLabel select a module's pods.
	nameLabel      = "app.kubernetes.io/name"
	componentLabel = "app.kubernetes.io/component"
	appName        = "uberservice"
	// databaseSecret holds the administrative credentials on Kubernetes,
	// which migrate alone reads: DATABASE_URL, every module's database URL
	// and the broker's administrator's UBERSERVICE_BUS.
	databaseSecret = "uberservice-database"
)

// module is one module of `uberservice modules --format json`.
type module struct {
	name string
	port int // its public API
	// internal is the port of its internal API: its gateway and the ops
	// routes, what its callers' peer URLs name.
	internal int
	uses     []string // the modules whose gateways it calls, optional ones too
	database bool     // it keeps data: a schema, and a role of its own
	// observes says it reads every module's internal API as an operator
	// (the console): it is given and admitted to every other module.
	observes bool
}

// peers are the modules whose internal API m reaches: those whose gateways
// it calls, or every other module when it observes them all.
func (m module) peers() []string {
	if !m.observes {
		return m.uses
	}
	var out []string
	for _, o := range modules {
		if o.name != m.name {
			out = append(out, o.name)
		}
	}
	return out
}

var (
	// binary is cmd/uberservice, built once by TestMain.
	binary string
	// modules is every module of the binary, as it lists them.
	modules []module
	// help is what `uberservice run -h` and `uberservice migrate -h` say: the
	// flags, and the environment variables they fall back to.
	help string
)

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy: FAIL:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "uberservice")
	build := exec.Command("go", "build", "-o", binary, "./cmd/uberservice")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "deploy: FAIL: go build ./cmd/uberservice: %v\n%s", err, out)
		return 1
	}
	out, err := exec.Command(binary, "modules", "--format", "json").Output()
	if err == nil {
		modules, err = decodeModules(out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "deploy: FAIL: uberservice modules --format json:", err)
		return 1
	}
	for _, cmd := range []string{"run", "migrate"} {
		out, err := exec.Command(binary, cmd, "-h").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "deploy: FAIL: uberservice %s -h: %v\n%s", cmd, err, out)
			return 1
		}
		help += string(out)
	}
	return m.Run()
}

// decodeModules reads what `uberservice modules --format json` prints.
func decodeModules(data []byte) ([]module, error) {
	var c struct {
		Modules []struct {
			Name         string `json:"name"`
			Port         int    `json:"port"`
			InternalPort int    `json:"internal_port"`
			Database     bool   `json:"database"`
			Observes     bool   `json:"observes"`
			Uses         []struct {
				Gateway string `json:"gateway"`
			} `json:"uses"`
		} `json:"modules"`
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	var out []module
	for _, m := range c.Modules {
		if m.Name == "" || m.Port == 0 || m.InternalPort == 0 {
			return nil, fmt.Errorf("a module without name, port or internal port: %+v", m)
		}
		mod := module{name: m.Name, port: m.Port, internal: m.InternalPort, database: m.Database, observes: m.Observes}
		for _, u := range m.Uses {
			mod.uses = append(mod.uses, u.Gateway)
		}
		out = append(out, mod)
	}
	if len(out) == 0 {
		return nil, errors.New("no module listed")
	}
	return out, nil
}

func moduleNamed(name string) (module, bool) {
	for _, m := range modules {
		if m.name == name {
			return m, true
		}
	}
	return module{}, false
}

// decodeAll decodes every document of a YAML file into a node.
func decodeAll(t *testing.T, path string) []*yaml.Node {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		docs = append(docs, &n)
	}
}

// The files under deploy/ that `uberservice deploy` renders are what it renders
// from the binary's modules now: none differs, none is missing, and none is left
// over from a module the binary no longer has. A file it does not render and
// that does not start with its header is kept by hand, and not its business.
func TestRenderedFilesAreCurrent(t *testing.T) {
	fresh := t.TempDir()
	for _, target := range []string{"compose", "kubernetes", "brokers"} {
		if out, err := exec.Command(binary, "deploy", target, "--out", fresh).CombinedOutput(); err != nil {
			t.Fatalf("uberservice deploy %s: %v\n%s", target, err, out)
		}
	}
	rendered := files(t, fresh)
	if len(rendered) < 2+len(modules) {
		t.Fatalf("uberservice deploy rendered only %v; the check would prove nothing", slices.Sorted(maps.Keys(rendered)))
	}
	headers := map[string]bool{} // the first line of every rendered file
	for _, data := range rendered {
		headers[firstLine(data)] = true
	}
	var drift []string
	for _, path := range slices.Sorted(maps.Keys(rendered)) {
		committed, err := os.ReadFile(filepath.FromSlash(path))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			drift = append(drift, "deploy/"+path+": missing")
		case err != nil:
			t.Fatal(err)
		case !bytes.Equal(committed, rendered[path]):
			drift = append(drift, fmt.Sprintf("deploy/%s: differs from a fresh render from line %d on", path, firstDifference(committed, rendered[path])))
		}
	}
	for path, data := range files(t, ".") {
		if _, ok := rendered[path]; !ok && headers[firstLine(data)] {
			drift = append(drift, "deploy/"+path+": rendered once, but no longer")
		}
	}
	if len(drift) > 0 {
		slices.Sort(drift)
		t.Errorf("the rendered files under deploy/ are not what `uberservice deploy` renders from the binary's modules:\n\t%s\nrun `make deploy`, and commit the result", strings.Join(drift, "\n\t"))
	}
}

// files reads every file under dir, by slash-separated path relative to it,
// but for those of keysFolder under deploy/: the user's key set.
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if skipKeys(dir, path, d) {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// skipKeys reports whether path, met walking root, is keysFolder of deploy/,
// where the user generates the key set compose.yaml mounts: files that git
// ignores, and that may be readable by the containers' user alone.
func skipKeys(root, path string, d fs.DirEntry) bool {
	return root == "." && d != nil && d.IsDir() && filepath.Clean(path) == keysFolder
}

func firstLine(data []byte) string {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	return string(line)
}

// firstDifference is the number of the first line that differs between a and b.
func firstDifference(a, b []byte) int {
	x, y := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(x), len(y)) {
		if !bytes.Equal(x[i], y[i]) {
			return i + 1
		}
	}
	return min(len(x), len(y)) + 1
}

// Every YAML file under deploy/ parses, and none is empty.
func TestEveryYAMLFileParses(t *testing.T) {
	n := 0
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if skipKeys(".", path, d) {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() || (filepath.Ext(path) != ".yaml" && filepath.Ext(path) != ".yml") {
			return err
		}
		n++
		if docs := decodeAll(t, path); len(docs) == 0 {
			t.Errorf("%s: no YAML document", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 3 {
		t.Fatalf("found %d YAML files under deploy/; the walk is broken", n)
	}
}

// pairs reads "A=x,B=y" lists, as UBERSERVICE_PEERS and UBERSERVICE_LISTEN are.
func pairs(t *testing.T, what, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Errorf("%s: %q is not NAME=VALUE", what, kv)
			continue
		}
		out[k] = v
	}
	return out
}

// peerURL takes apart http://HOST:PORT, the only form a peer takes here.
func peerURL(t *testing.T, what, s string) (host string, port int) {
	t.Helper()
	u, err := url.Parse(s)
	if err == nil && u.Scheme == "http" && u.Port() != "" && (u.Path == "" || u.Path == "/") {
		if port, err = strconv.Atoi(u.Port()); err == nil {
			return u.Hostname(), port
		}
	}
	t.Errorf("%s: peer URL %q: want http://HOST:PORT", what, s)
	return "", 0
}

// crossProcessBus reports whether a --bus value carries events between
// processes: anything but the in-process GoChannel.
func crossProcessBus(bus string) bool { return bus != "" && bus != "gochannel" }

// Every environment variable and command that compose.yaml and the Kubernetes
// manifests give the image is one the binary knows: a misspelt variable would
// otherwise be ignored without a word.
func TestConfigurationIsTheBinarys(t *testing.T) {
	vars := map[string]string{} // variable -> where it is set
	cmds := map[string]string{} // command -> where it is run
	img := image(t)
	for name, svc := range loadCompose(t).Services {
		if svc.Image != img {
			continue
		}
		for v := range svc.Environment {
			vars[v] = "compose.yaml, service " + name
		}
		if len(svc.Command) > 0 {
			cmds[svc.Command[0]] = "compose.yaml, service " + name
		}
	}
	for _, dir := range []string{baseDir, migrateDir} {
		k := loadKustomization(t, dir)
		for name, data := range k.config {
			for v := range data {
				vars[v] = dir + ", ConfigMap " + name
			}
		}
		for _, o := range k.objects {
			pod := o.Spec.Template.Spec
			for _, c := range slices.Concat(pod.InitContainers, pod.Containers) {
				where := fmt.Sprintf("%s, %s %s, container %s", dir, o.Kind, o.Metadata.Name, c.Name)
				for _, e := range c.Env {
					vars[e.Name] = where
				}
				if len(c.Args) > 0 {
					cmds[c.Args[0]] = where
				}
			}
		}
	}
	for _, file := range []string{secretFile, moduleSecretsExample} {
		for _, doc := range decodeAll(t, file) {
			var secret object
			if doc.Decode(&secret) == nil {
				for v := range secret.StringData {
					vars[v] = file
				}
			}
		}
	}
	if len(vars) < 5 || len(cmds) < 2 {
		t.Fatalf("found only variables %v and commands %v; the configuration was not read", vars, cmds)
	}
	for v, where := range vars {
		if strings.HasPrefix(v, "UBERSERVICE_DATABASE_URL_") {
			v = "UBERSERVICE_DATABASE_URL_<MODULE>" // one variable per module, as --help writes it
		}
		if !strings.Contains(help, "env "+v) {
			t.Errorf("%s: %s is not a variable that `uberservice run` or `migrate` reads", where, v)
		}
	}
	for cmd, where := range cmds {
		if out, err := exec.Command(binary, cmd, "-h").CombinedOutput(); err != nil {
			t.Errorf("%s: `uberservice %s` is no command of the binary: %v\n%s", where, cmd, err, out)
		}
	}
}
