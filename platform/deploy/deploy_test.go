package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/uberservice/uberservice/platform/deploy"
	"github.com/uberservice/uberservice/platform/peerauth"
)

// shop is a small system to deploy: a core module, one that calls it and
// consumes its events, and one without data that calls both, one optionally.
func shop() []deploy.Module {
	return []deploy.Module{
		{Name: "ledger", Port: 9001, InternalPort: 9101, Database: true, Uses: []deploy.Use{}, Publishes: []string{"ledger.posted.v1"}, Consumes: []string{}},
		{Name: "reports", Port: 9002, InternalPort: 9102, Database: true, Uses: []deploy.Use{{Gateway: "ledger"}}, Consumes: []string{"ledger.posted.v1"}},
		{Name: "front", Port: 9000, InternalPort: 9100, Uses: []deploy.Use{{Gateway: "ledger"}, {Gateway: "reports", Optional: true}}},
	}
}

// withBilling is shop with one module more, which front calls too.
func withBilling() []deploy.Module {
	ms := shop()
	ms[2].Uses = append(ms[2].Uses, deploy.Use{Gateway: "billing"})
	return append(ms, deploy.Module{Name: "billing", Port: 9003, InternalPort: 9103, Database: true, Uses: []deploy.Use{{Gateway: "ledger"}}, Consumes: []string{"ledger.posted.v1"}})
}

func renderAll(t *testing.T, modules []deploy.Module) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, render := range []func([]deploy.Module) ([]deploy.File, error){deploy.Compose, deploy.Kubernetes} {
		files, err := render(modules)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if _, dup := out[f.Path]; dup {
				t.Fatalf("%s rendered twice", f.Path)
			}
			out[f.Path] = f.Data
		}
	}
	return out
}

// documents decodes every YAML document of data.
func documents(t *testing.T, path string, data []byte) []map[string]any {
	t.Helper()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []map[string]any
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", path, err, data)
		}
		docs = append(docs, doc)
	}
}

// at walks doc along keys (map keys, or list indexes as ints).
func at(t *testing.T, doc any, keys ...any) any {
	t.Helper()
	v := doc
	for i, k := range keys {
		switch node := v.(type) {
		case map[string]any:
			v = node[k.(string)]
		case []any:
			v = node[k.(int)]
		default:
			t.Fatalf("at %v: %T is no map or list", keys[:i+1], v)
		}
	}
	return v
}

func TestEveryFileIsMarkedGeneratedAndParses(t *testing.T) {
	files := renderAll(t, shop())
	want := []string{
		"compose.yaml",
		"k8s/base/front.yaml", "k8s/base/kustomization.yaml", "k8s/base/ledger.yaml", "k8s/base/network-policies.yaml", "k8s/base/reports.yaml",
		"k8s/database-secret.example.yaml", "k8s/keys-secrets.example.yaml",
		"k8s/migrate/job.yaml", "k8s/migrate/kustomization.yaml",
		"k8s/module-secrets.example.yaml",
	}
	var got []string
	for path, data := range files {
		got = append(got, path)
		if !deploy.Generated(data) {
			t.Errorf("%s does not start with the header %q", path, deploy.Header)
		}
		if len(documents(t, path, data)) == 0 {
			t.Errorf("%s: no YAML document", path)
		}
	}
	if slices.Sort(got); !slices.Equal(got, want) {
		t.Errorf("rendered %q, want %q", got, want)
	}
	if deploy.Generated([]byte("name: uberservice\n# " + deploy.Header + "\n")) {
		t.Error("Generated: a file whose first line is not the header is kept by hand")
	}
}

func TestRenderingIsDeterministic(t *testing.T) {
	first := renderAll(t, withBilling())
	for range 5 {
		for path, data := range renderAll(t, withBilling()) {
			if !bytes.Equal(data, first[path]) {
				t.Fatalf("%s differs between two renders of the same modules", path)
			}
		}
	}
}

// The modules come out in the order they go in: the binary's.
func TestModulesKeepTheirOrder(t *testing.T) {
	files := renderAll(t, shop())
	k := documents(t, "kustomization.yaml", files["k8s/base/kustomization.yaml"])[0]
	if got := at(t, k, "resources"); !slices.Equal(toStrings(got), []string{"ledger.yaml", "reports.yaml", "front.yaml", "network-policies.yaml"}) {
		t.Errorf("resources %v, want ledger, reports, front, then the policies", got)
	}
	compose := string(files["compose.yaml"])
	if l, r, f := strings.Index(compose, "\n  ledger:"), strings.Index(compose, "\n  reports:"), strings.Index(compose, "\n  front:"); l < 0 || !(l < r && r < f) {
		t.Errorf("compose.yaml: services ledger, reports, front at %d, %d, %d: want them in that order", l, r, f)
	}
}

func toStrings(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}

func composeServices(t *testing.T, modules []deploy.Module) map[string]any {
	t.Helper()
	files, err := deploy.Compose(modules)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Path != "compose.yaml" {
		t.Fatalf("Compose rendered %d files, want compose.yaml alone", len(files))
	}
	return at(t, documents(t, "compose.yaml", files[0].Data)[0], "services").(map[string]any)
}

// A module added to the input gets a service of its own, on its two ports, of
// which only the public one is published, its own database role and NATS user,
// whose password the nats service sets, and the module that calls it gets the
// address of its internal one; nothing else changes.
func TestComposeDeploysAnAddedModule(t *testing.T) {
	before, after := composeServices(t, shop()), composeServices(t, withBilling())
	billing, ok := after["billing"]
	if !ok {
		t.Fatal("compose.yaml: no service billing")
	}
	env := at(t, billing, "environment").(map[string]any)
	for k, want := range map[string]any{
		"UBERSERVICE_MODULES":              "billing",
		"UBERSERVICE_LISTEN":               "billing=:9003",
		"UBERSERVICE_INTERNAL_LISTEN":      "billing=:9103",
		"UBERSERVICE_PEERS":                "ledger=http://ledger:9101",
		"UBERSERVICE_DATABASE_URL_BILLING": at(t, after, "migrate", "environment", "UBERSERVICE_DATABASE_URL_BILLING"),
		"UBERSERVICE_BUS":                  "nats://billing:uberservice_billing@nats:4222",
		"UBERSERVICE_NO_MIGRATE":           "true",
		"UBERSERVICE_KEYS_DIR":             "/keys",
	} {
		if env[k] != want {
			t.Errorf("billing: %s=%v, want %v", k, env[k], want)
		}
	}
	if got := toStrings(at(t, billing, "ports")); !slices.Equal(got, []string{"127.0.0.1:9003:9003"}) {
		t.Errorf("billing: ports %q, want the public port alone", got)
	}
	if got := toStrings(at(t, billing, "expose")); !slices.Equal(got, []string{"9103"}) {
		t.Errorf("billing: expose %q, want the internal port", got)
	}
	if got := at(t, billing, "volumes"); !equalYAML(t, got, []any{map[string]any{
		"type": "bind", "source": "./keys", "target": "/keys", "read_only": true,
		"bind": map[string]any{"create_host_path": false},
	}}) {
		t.Errorf("billing: volumes %v, want ./keys read-only at /keys", got)
	}
	if got := toStrings(at(t, billing, "healthcheck", "test")); !slices.Equal(got, []string{"CMD", "/uberservice", "probe", "http://127.0.0.1:9003/readyz"}) {
		t.Errorf("billing: healthcheck %q", got)
	}
	if at(t, billing, "depends_on", "migrate", "condition") != "service_completed_successfully" || at(t, billing, "depends_on", "nats", "condition") != "service_healthy" {
		t.Errorf("billing: depends_on %v: want migrate completed and nats healthy", at(t, billing, "depends_on"))
	}
	// front calls billing now, and reports optionally: every gateway it uses.
	if got := at(t, after, "front", "environment", "UBERSERVICE_PEERS"); got != "ledger=http://ledger:9101,reports=http://reports:9102,billing=http://billing:9103" {
		t.Errorf("front: UBERSERVICE_PEERS=%v", got)
	}
	if _, ok := at(t, after, "ledger", "environment").(map[string]any)["UBERSERVICE_PEERS"]; ok {
		t.Error("ledger calls nobody, yet has UBERSERVICE_PEERS")
	}
	if env["DATABASE_URL"] != nil || at(t, after, "migrate", "environment", "UBERSERVICE_DATABASE_URL_BILLING") == nil {
		t.Errorf("billing: DATABASE_URL=%v, want none, and migrate with billing's own URL to provision its role", env["DATABASE_URL"])
	}
	if got := at(t, after, "nats", "environment", deploy.NATSPasswordEnv("billing")); got != "uberservice_billing" {
		t.Errorf("nats: %s=%v, want billing's demo password", deploy.NATSPasswordEnv("billing"), got)
	}
	delete(after, "billing")
	delete(after, "front")
	delete(before, "front")
	delete(after["migrate"].(map[string]any)["environment"].(map[string]any), "UBERSERVICE_DATABASE_URL_BILLING")
	delete(after["nats"].(map[string]any)["environment"].(map[string]any), deploy.NATSPasswordEnv("billing"))
	if !equalYAML(t, before, after) {
		t.Error("adding billing changed services other than billing and front, its caller")
	}
}

// Each module connects to NATS as its own user, migrate as the administrator,
// each with the password that the nats service sets in the variable from which
// brokers/nats-server.conf reads it; the service runs with that file, which
// Brokers renders beside compose.yaml.
func TestComposeModulesConnectAsTheirOwnBrokerUser(t *testing.T) {
	modules := withBilling()
	services := composeServices(t, modules)
	nats := at(t, services, "nats").(map[string]any)
	env := at(t, nats, "environment").(map[string]any)
	want := map[string]string{"migrate": deploy.BrokerAdmin} // service -> user
	for _, m := range modules {
		want[m.Name] = m.Name
	}
	var vars []string
	for service, user := range want {
		v := deploy.NATSPasswordEnv(user)
		if user == deploy.BrokerAdmin {
			v = deploy.NATSPasswordEnv("")
		}
		vars = append(vars, v)
		password, _ := env[v].(string)
		if got := at(t, services, service, "environment", "UBERSERVICE_BUS"); password == "" || got != "nats://"+user+":"+password+"@nats:4222" {
			t.Errorf("%s: UBERSERVICE_BUS=%v, nats's %s=%q: want nats://%s:%s@nats:4222", service, got, v, password, user, password)
		}
	}
	if got := slices.Sorted(maps.Keys(env)); !slices.Equal(got, slices.Sorted(slices.Values(vars))) {
		t.Errorf("nats: environment %q, want the passwords %q", got, slices.Sorted(slices.Values(vars)))
	}

	brokers, err := deploy.Brokers(modules)
	if err != nil {
		t.Fatal(err)
	}
	conf := slices.IndexFunc(brokers, func(f deploy.File) bool { return f.Path == "brokers/nats-server.conf" })
	if conf < 0 {
		t.Fatal("Brokers renders no brokers/nats-server.conf")
	}
	if got := at(t, nats, "volumes", 1); !equalYAML(t, got, map[string]any{
		"type": "bind", "source": "./" + brokers[conf].Path, "target": "/etc/nats/nats-server.conf", "read_only": true,
		"bind": map[string]any{"create_host_path": false},
	}) {
		t.Errorf("nats: volume %v, want ./%s read-only at /etc/nats/nats-server.conf", got, brokers[conf].Path)
	}
	if got := toStrings(at(t, nats, "command")); len(got) < 3 || !slices.Equal(got[:3], []string{"nats-server", "-c", "/etc/nats/nats-server.conf"}) {
		t.Errorf("nats: command %q, want nats-server -c /etc/nats/nats-server.conf", got)
	}
}

func equalYAML(t *testing.T, a, b any) bool {
	t.Helper()
	x, err := yaml.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Equal(x, y)
}

// A module added to the input gets its Deployment and Service, on its two
// ports, its line among the base's resources, its Service's internal port
// among the peers, and its place in the policies of the modules it calls.
func TestKubernetesDeploysAnAddedModule(t *testing.T) {
	before, after := renderAll(t, shop()), renderAll(t, withBilling())
	docs := documents(t, "billing.yaml", after["k8s/base/billing.yaml"])
	if len(docs) != 2 {
		t.Fatalf("k8s/base/billing.yaml: %d documents, want a Deployment and a Service", len(docs))
	}
	d, s := docs[0], docs[1]
	labels := map[string]any{"app.kubernetes.io/name": "uberservice", "app.kubernetes.io/component": "billing"}
	if d["kind"] != "Deployment" || at(t, d, "metadata", "name") != "uberservice-billing" {
		t.Errorf("first document: %v %v, want Deployment uberservice-billing", d["kind"], at(t, d, "metadata", "name"))
	}
	for _, path := range [][]any{{"metadata", "labels"}, {"spec", "selector", "matchLabels"}, {"spec", "template", "metadata", "labels"}} {
		if !equalYAML(t, at(t, d, path...), labels) {
			t.Errorf("Deployment: %v: %v, want %v", path, at(t, d, path...), labels)
		}
	}
	c := at(t, d, "spec", "template", "spec", "containers", 0)
	if got := at(t, c, "env"); !equalYAML(t, got, []any{
		map[string]any{"name": "UBERSERVICE_MODULES", "value": "billing"},
		map[string]any{"name": "UBERSERVICE_LISTEN", "value": "billing=:9003"},
		map[string]any{"name": "UBERSERVICE_INTERNAL_LISTEN", "value": "billing=:9103"},
		map[string]any{"name": "UBERSERVICE_KEYS_DIR", "value": "/keys"},
	}) {
		t.Errorf("Deployment: env %v", got)
	}
	if got := at(t, c, "volumeMounts"); !equalYAML(t, got, []any{map[string]any{"name": "keys", "mountPath": "/keys", "readOnly": true}}) {
		t.Errorf("Deployment: volumeMounts %v, want the keys at /keys, read-only", got)
	}
	if got := at(t, d, "spec", "template", "spec", "volumes"); !equalYAML(t, got, []any{map[string]any{
		"name": "keys", "secret": map[string]any{"secretName": "uberservice-keys-billing", "defaultMode": 0o440},
	}}) {
		t.Errorf("Deployment: volumes %v, want Secret uberservice-keys-billing, mode 0440", got)
	}
	if !equalYAML(t, at(t, c, "ports"), []any{
		map[string]any{"name": "http", "containerPort": 9003},
		map[string]any{"name": "internal", "containerPort": 9103},
	}) {
		t.Errorf("Deployment: ports %v, want http 9003 and internal 9103", at(t, c, "ports"))
	}
	for probe, path := range map[string]string{"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
		if at(t, c, probe, "httpGet", "path") != path || at(t, c, probe, "httpGet", "port") != "http" {
			t.Errorf("Deployment: %s %v, want GET %s on http", probe, at(t, c, probe), path)
		}
	}
	if got := toStrings(at(t, d, "spec", "template", "spec", "initContainers", 0, "args")); !slices.Equal(got, []string{"migrate"}) {
		t.Errorf("Deployment: init container args %q, want migrate", got)
	}
	if s["kind"] != "Service" || at(t, s, "metadata", "name") != "uberservice-billing" || !equalYAML(t, at(t, s, "spec", "selector"), labels) ||
		!equalYAML(t, at(t, s, "spec", "ports"), []any{
			map[string]any{"name": "http", "port": 9003, "targetPort": "http"},
			map[string]any{"name": "internal", "port": 9103, "targetPort": "internal"},
		}) {
		t.Errorf("second document: want Service uberservice-billing selecting %v on ports 9003 and 9103, got %v", labels, s)
	}

	k := documents(t, "kustomization.yaml", after["k8s/base/kustomization.yaml"])[0]
	if got := toStrings(at(t, k, "resources")); !slices.Equal(got, []string{"ledger.yaml", "reports.yaml", "front.yaml", "billing.yaml", "network-policies.yaml"}) {
		t.Errorf("resources %q", got)
	}
	literals := toStrings(at(t, k, "configMapGenerator", 0, "literals"))
	want := "UBERSERVICE_PEERS=ledger=http://uberservice-ledger:9101,reports=http://uberservice-reports:9102,front=http://uberservice-front:9100,billing=http://uberservice-billing:9103"
	if !slices.Contains(literals, want) {
		t.Errorf("ConfigMap literals %q: want %s", literals, want)
	}

	// billing's policy admits front on its internal port, and ledger's admits
	// billing now.
	policies := policies(t, after)
	if got := internalFrom(t, policies["uberservice-billing"]); !slices.Equal(got, []string{"front", "operator"}) {
		t.Errorf("billing's internal port admits %q, want front and operators", got)
	}
	if got := internalFrom(t, policies["uberservice-ledger"]); !slices.Equal(got, []string{"reports", "front", "billing", "operator"}) {
		t.Errorf("ledger's internal port admits %q, want reports, front, billing and operators", got)
	}

	// front's comment says it calls billing now; the manifests of the other
	// modules and the migrate Job do not change, and the examples of the
	// Secrets have billing's (TestEachModuleHoldsItsOwnKey,
	// TestEachModuleReadsItsOwnCredentials).
	if !strings.Contains(string(after["k8s/base/front.yaml"]), "# front: calls ledger, billing and, optionally, reports") {
		t.Errorf("k8s/base/front.yaml: the comment does not say front calls billing:\n%s", after["k8s/base/front.yaml"])
	}
	for path, data := range before {
		switch path {
		case "compose.yaml", "k8s/base/kustomization.yaml", "k8s/base/front.yaml", "k8s/base/network-policies.yaml",
			"k8s/database-secret.example.yaml", "k8s/module-secrets.example.yaml", "k8s/keys-secrets.example.yaml":
		default:
			if !bytes.Equal(data, after[path]) {
				t.Errorf("%s changed when billing was added", path)
			}
		}
	}
}

// policies are the NetworkPolicies of k8s/base/network-policies.yaml, by name.
func policies(t *testing.T, files map[string][]byte) map[string]map[string]any {
	t.Helper()
	const path = "k8s/base/network-policies.yaml"
	out := map[string]map[string]any{}
	for _, doc := range documents(t, path, files[path]) {
		if doc["kind"] != "NetworkPolicy" || doc["apiVersion"] != "networking.k8s.io/v1" {
			t.Fatalf("%s: %v %v among the NetworkPolicies", path, doc["apiVersion"], doc["kind"])
		}
		out[at(t, doc, "metadata", "name").(string)] = doc
	}
	return out
}

// internalFrom says whom policy's second ingress rule, the internal port's,
// admits: each source as the component it selects, or "operator".
func internalFrom(t *testing.T, policy map[string]any) []string {
	t.Helper()
	var out []string
	for _, from := range at(t, policy, "spec", "ingress", 1, "from").([]any) {
		labels := at(t, from, "podSelector", "matchLabels").(map[string]any)
		switch {
		case labels[deploy.OperatorLabel] == "true" && len(labels) == 1:
			out = append(out, "operator")
		case labels["app.kubernetes.io/name"] == "uberservice" && len(labels) == 2:
			out = append(out, labels["app.kubernetes.io/component"].(string))
		default:
			t.Errorf("%v: a source that is neither a module's pods nor operators': %v", at(t, policy, "metadata", "name"), labels)
		}
	}
	return out
}

// Every uberservice pod is denied ingress but on what a module's policy
// admits: its public port from anywhere, its internal port from the modules
// that use its gateway (optionally or not) and operators. A gateway that no
// module provides changes no policy. The tests of deploy/ check the rendered
// policies as Kubernetes reads them; these check the renderer's plumbing.
func TestNetworkPoliciesFollowTheUses(t *testing.T) {
	ms := shop()
	ms[2].Uses = append(ms[2].Uses, deploy.Use{Gateway: "tax", Optional: true})
	ps := policies(t, renderAll(t, ms))
	deny := ps["uberservice-default-deny"]
	if !equalYAML(t, at(t, deny, "spec"), map[string]any{
		"podSelector": map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": "uberservice"}},
		"policyTypes": []any{"Ingress"},
	}) {
		t.Errorf("uberservice-default-deny: spec %v, want every uberservice pod denied ingress", at(t, deny, "spec"))
	}
	for _, tc := range []struct {
		module           string
		public, internal int
		from             []string
	}{
		{"ledger", 9001, 9101, []string{"reports", "front", "operator"}},
		{"reports", 9002, 9102, []string{"front", "operator"}}, // an optional use admits too
		{"front", 9000, 9100, []string{"operator"}},
	} {
		p, ok := ps["uberservice-"+tc.module]
		if !ok {
			t.Errorf("no NetworkPolicy uberservice-%s", tc.module)
			continue
		}
		selector := map[string]any{"matchLabels": map[string]any{"app.kubernetes.io/name": "uberservice", "app.kubernetes.io/component": tc.module}}
		if !equalYAML(t, at(t, p, "spec", "podSelector"), selector) || !equalYAML(t, at(t, p, "spec", "policyTypes"), []any{"Ingress"}) {
			t.Errorf("%s: want an Ingress policy selecting %v", tc.module, selector)
		}
		if got := at(t, p, "spec", "ingress"); !equalYAML(t, at(t, got, 0), map[string]any{"ports": []any{map[string]any{"protocol": "TCP", "port": tc.public}}}) ||
			!equalYAML(t, at(t, got, 1, "ports"), []any{map[string]any{"protocol": "TCP", "port": tc.internal}}) || len(got.([]any)) != 2 {
			t.Errorf("%s: ingress %v, want port %d from anywhere and port %d from some", tc.module, got, tc.public, tc.internal)
		}
		if got := internalFrom(t, p); !slices.Equal(got, tc.from) {
			t.Errorf("%s: internal port admits %q, want %q", tc.module, got, tc.from)
		}
	}
	if len(ps) != 4 {
		t.Errorf("%d NetworkPolicies, want the default deny and one per module", len(ps))
	}
}

// A module that observes every module (the console) is admitted on every
// other module's internal port and given every module as a peer, though it
// uses no gateway; it admits no one but operators on its own.
func TestAnObserverReachesEveryInternalPort(t *testing.T) {
	ms := append(shop(), deploy.Module{Name: "console", Port: 9005, InternalPort: 9105, Uses: []deploy.Use{}, Observes: true})
	files := renderAll(t, ms)
	ps := policies(t, files)
	for module, want := range map[string][]string{
		"ledger":  {"reports", "front", "console", "operator"},
		"reports": {"front", "console", "operator"},
		"front":   {"console", "operator"},
		"console": {"operator"},
	} {
		if got := internalFrom(t, ps["uberservice-"+module]); !slices.Equal(got, want) {
			t.Errorf("%s: internal port admits %q, want %q", module, got, want)
		}
	}
	compose := string(files["compose.yaml"])
	if want := "UBERSERVICE_PEERS: ledger=http://ledger:9101,reports=http://reports:9102,front=http://front:9100"; !strings.Contains(compose, want) {
		t.Errorf("compose.yaml: the console's peers are not every module; want %q in\n%s", want, compose)
	}
}

// The comment above a module says what it calls and which events it carries.
func TestCommentsDescribeTheModule(t *testing.T) {
	files := renderAll(t, shop())
	for path, want := range map[string][]string{
		"compose.yaml": {
			"  # reports: calls ledger (UBERSERVICE_PEERS); consumes ledger.posted.v1\n  # (UBERSERVICE_BUS).\n  reports:\n",
			"  # front: calls ledger and, optionally, reports (UBERSERVICE_PEERS); publishes\n  # and consumes no events. It keeps no data: it has no schema of its own.\n  front:\n",
		},
		"k8s/base/ledger.yaml": {"\n# ledger: calls no other module; publishes ledger.posted.v1 (UBERSERVICE_BUS).\n"},
		"k8s/base/front.yaml":  {"\n# front: calls ledger and, optionally, reports (UBERSERVICE_PEERS); publishes\n# and consumes no events. It keeps no data,"},
	} {
		for _, w := range want {
			if !strings.Contains(string(files[path]), w) {
				t.Errorf("%s does not contain\n%s", path, w)
			}
		}
	}
}

func TestModulesThatCannotBeDeployed(t *testing.T) {
	for name, tc := range map[string]struct {
		change func([]deploy.Module) []deploy.Module
		want   string
	}{
		"none":              {func([]deploy.Module) []deploy.Module { return nil }, "no modules"},
		"upper-case name":   {func(ms []deploy.Module) []deploy.Module { ms[0].Name = "Ledger"; return ms }, `module "Ledger": want a name`},
		"name too long":     {func(ms []deploy.Module) []deploy.Module { ms[0].Name = strings.Repeat("l", 52); return ms }, "at most 51"},
		"the deployment's":  {func(ms []deploy.Module) []deploy.Module { ms[0].Name = "migrate"; return ms }, `module "migrate": the name is taken`},
		"the operators'":    {func(ms []deploy.Module) []deploy.Module { ms[0].Name = "operator"; return ms }, `module "operator": the name is taken`},
		"listed twice":      {func(ms []deploy.Module) []deploy.Module { return append(ms, ms[0]) }, `module "ledger": listed twice`},
		"shared port":       {func(ms []deploy.Module) []deploy.Module { ms[1].Port = 9001; return ms }, "module reports: port 9001 is module ledger's port too"},
		"no port":           {func(ms []deploy.Module) []deploy.Module { ms[1].Port = 0; return ms }, "module reports: port 0"},
		"no internal port":  {func(ms []deploy.Module) []deploy.Module { ms[1].InternalPort = 0; return ms }, "module reports: internal port 0"},
		"internal too high": {func(ms []deploy.Module) []deploy.Module { ms[1].InternalPort = 65536; return ms }, "module reports: internal port 65536"},
		"internal is own public": {func(ms []deploy.Module) []deploy.Module { ms[1].InternalPort = 9002; return ms },
			"module reports: internal port 9002 is module reports's port too"},
		"internal is another's public": {func(ms []deploy.Module) []deploy.Module { ms[1].InternalPort = 9000; return ms },
			"module front: port 9000 is module reports's internal port too"},
		"public is another's internal": {func(ms []deploy.Module) []deploy.Module { ms[1].Port = 9101; return ms },
			"module reports: port 9101 is module ledger's internal port too"},
		"shared internal port": {func(ms []deploy.Module) []deploy.Module { ms[2].InternalPort = 9101; return ms },
			"module front: internal port 9101 is module ledger's internal port too"},
		"the admin Secret's": {func(ms []deploy.Module) []deploy.Module { ms[0].Name = "database"; return ms }, `module "database": the name is taken`},
		"another's keys": {func(ms []deploy.Module) []deploy.Module { ms[2].Name = "keys-ledger"; return ms },
			"module keys-ledger: its Secret, uberservice-keys-ledger, would be module ledger's keys'"},
		"unknown gateway":   {func(ms []deploy.Module) []deploy.Module { ms[1].Uses[0].Gateway = "tax"; return ms }, "module reports uses gateway tax, which no module provides"},
		"several, all said": {func(ms []deploy.Module) []deploy.Module { ms[0].Port, ms[2].Name = 70000, "x_y"; return ms }, "module ledger: port 70000\nmodule \"x_y\""},
	} {
		t.Run(name, func(t *testing.T) {
			modules := tc.change(shop())
			for _, render := range []func([]deploy.Module) ([]deploy.File, error){deploy.Compose, deploy.Kubernetes} {
				_, err := render(modules)
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("err = %v, want one that says %q", err, tc.want)
				}
			}
		})
	}
}

// An optional gateway that no module provides is nowhere to be reached: the
// module runs without it.
func TestAnOptionalGatewayNoModuleProvides(t *testing.T) {
	ms := shop()
	ms[2].Uses[1].Gateway = "tax"
	services := composeServices(t, ms)
	if got := at(t, services, "front", "environment", "UBERSERVICE_PEERS"); got != "ledger=http://ledger:9101" {
		t.Errorf("front: UBERSERVICE_PEERS=%v, want ledger alone", got)
	}
}

// Write writes the files, removes the ones it wrote before that are no longer
// rendered, and leaves the files kept by hand alone.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	files, err := deploy.Kubernetes(withBilling())
	if err != nil {
		t.Fatal(err)
	}
	if err := deploy.Write(dir, files); err != nil {
		t.Fatal(err)
	}
	handKept := filepath.Join(dir, "k8s", "base", "notes.yaml")
	if err := os.WriteFile(handKept, []byte("# kept by hand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	elsewhere := filepath.Join(dir, "k8s", "overlay", "overlay.yaml") // generated, but in no folder Write renders into
	if err := os.MkdirAll(filepath.Dir(elsewhere), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(elsewhere, []byte(deploy.Header+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// billing is taken out of the binary.
	files, err = deploy.Kubernetes(shop())
	if err != nil {
		t.Fatal(err)
	}
	if err := deploy.Write(dir, files); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Path)))
		if err != nil || !bytes.Equal(got, f.Data) {
			t.Errorf("%s: not what was rendered (%v)", f.Path, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "k8s", "base", "billing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("k8s/base/billing.yaml, no longer rendered, is still there (%v)", err)
	}
	for _, kept := range []string{handKept, elsewhere} {
		if _, err := os.Stat(kept); err != nil {
			t.Errorf("%s was removed: %v", kept, err)
		}
	}
}

// On Kubernetes each module's container reads its credentials from a Secret of
// its own, ModuleSecret, and from no other; migrate, in the init containers
// and the Job, from AdminSecret alone; the shared ConfigMap holds none. The
// examples of those Secrets give each module its own database URL, if it
// keeps data, and the broker as its own user, and the administrative Secret
// every module's database URL and the broker as its administrator. A module
// added gets a Secret of its own, and its database URL in the administrative
// one.
func TestEachModuleReadsItsOwnCredentials(t *testing.T) {
	envFrom := func(secret string) any {
		return []any{
			map[string]any{"configMapRef": map[string]any{"name": "uberservice"}},
			map[string]any{"secretRef": map[string]any{"name": secret}},
		}
	}
	for _, modules := range [][]deploy.Module{shop(), withBilling()} {
		files := renderAll(t, modules)
		examples := func(path string) map[string]map[string]any {
			t.Helper()
			secrets := map[string]map[string]any{}
			for _, doc := range documents(t, path, files[path]) {
				if doc["kind"] != "Secret" {
					t.Errorf("%s: a %v, want Secrets alone", path, doc["kind"])
					continue
				}
				data, _ := doc["stringData"].(map[string]any)
				secrets[at(t, doc, "metadata", "name").(string)] = data
			}
			return secrets
		}
		own := examples("k8s/module-secrets.example.yaml")
		if len(own) != len(modules) {
			t.Errorf("module-secrets.example.yaml: %d Secrets for %d modules", len(own), len(modules))
		}
		admin := map[string]any{
			"DATABASE_URL":    "postgres://CHANGE-ME:CHANGE-ME@postgres.example.invalid:5432/uberservice?sslmode=require",
			"UBERSERVICE_BUS": "nats://" + deploy.BrokerAdmin + ":CHANGE-ME@nats:4222",
		}
		for _, m := range modules {
			name := deploy.ModuleSecret(m.Name)
			if name != "uberservice-"+m.Name {
				t.Errorf("ModuleSecret(%s) = %s", m.Name, name)
			}
			want := map[string]any{"UBERSERVICE_BUS": "nats://" + m.Name + ":CHANGE-ME@nats:4222"}
			if m.Database {
				db := "UBERSERVICE_DATABASE_URL_" + strings.ToUpper(m.Name)
				want[db] = "postgres://uberservice_" + m.Name + ":CHANGE-ME@postgres.example.invalid:5432/uberservice?sslmode=require"
				admin[db] = want[db]
			}
			if !equalYAML(t, own[name], want) {
				t.Errorf("module-secrets.example.yaml: Secret %s holds %v, want %v", name, own[name], want)
			}

			path := "k8s/base/" + m.Name + ".yaml"
			pod := at(t, documents(t, path, files[path])[0], "spec", "template", "spec")
			if got := at(t, pod, "containers", 0, "envFrom"); !equalYAML(t, got, envFrom(name)) {
				t.Errorf("%s: container: envFrom %v, want the ConfigMap and %s", path, got, name)
			}
			if got := at(t, pod, "initContainers", 0, "envFrom"); !equalYAML(t, got, envFrom(deploy.AdminSecret)) {
				t.Errorf("%s: init container: envFrom %v, want the ConfigMap and %s", path, got, deploy.AdminSecret)
			}
		}
		if got := examples("k8s/database-secret.example.yaml"); len(got) != 1 || !equalYAML(t, got[deploy.AdminSecret], admin) {
			t.Errorf("database-secret.example.yaml: %v, want Secret %s holding %v", got, deploy.AdminSecret, admin)
		}
		job := documents(t, "job.yaml", files["k8s/migrate/job.yaml"])[0]
		if got := at(t, job, "spec", "template", "spec", "containers", 0, "envFrom"); !equalYAML(t, got, []any{map[string]any{"secretRef": map[string]any{"name": deploy.AdminSecret}}}) {
			t.Errorf("k8s/migrate/job.yaml: envFrom %v, want %s", got, deploy.AdminSecret)
		}
		k := documents(t, "kustomization.yaml", files["k8s/base/kustomization.yaml"])[0]
		for _, l := range toStrings(at(t, k, "configMapGenerator", 0, "literals")) {
			if strings.HasPrefix(l, "UBERSERVICE_BUS=") || strings.HasPrefix(l, "DATABASE_URL=") {
				t.Errorf("ConfigMap literal %s: credentials every module would read", l)
			}
		}
	}
}

// The operators' keys are named as package peerauth names them, which the
// binary's key sets follow.
func TestOperatorKeyIsPeerauths(t *testing.T) {
	if deploy.OperatorKey != peerauth.Operator {
		t.Errorf("deploy.OperatorKey = %q, peerauth.Operator = %q", deploy.OperatorKey, peerauth.Operator)
	}
}

// On Kubernetes each module's container mounts a Secret of its own at
// KeysDir, and nothing else does; the example of those Secrets gives each
// its module's private key and every public key, the operators' too, and no
// private key of another. A module added gets a Secret of its own, and its
// public key in everyone's.
func TestEachModuleHoldsItsOwnKey(t *testing.T) {
	for _, modules := range [][]deploy.Module{shop(), withBilling()} {
		files := renderAll(t, modules)
		var public []string
		for _, m := range modules {
			public = append(public, m.Name+".pub")
		}
		public = append(public, deploy.OperatorKey+".pub")
		secrets := map[string]map[string]any{}
		for _, doc := range documents(t, "keys-secrets.example.yaml", files["k8s/keys-secrets.example.yaml"]) {
			if doc["kind"] != "Secret" {
				t.Errorf("keys-secrets.example.yaml: a %v, want Secrets alone", doc["kind"])
				continue
			}
			data, _ := doc["stringData"].(map[string]any)
			secrets[at(t, doc, "metadata", "name").(string)] = data
		}
		if len(secrets) != len(modules) {
			t.Errorf("keys-secrets.example.yaml: %d Secrets for %d modules", len(secrets), len(modules))
		}
		for _, m := range modules {
			name := deploy.KeySecret(m.Name)
			if name != "uberservice-keys-"+m.Name {
				t.Errorf("KeySecret(%s) = %s", m.Name, name)
			}
			var keys []string
			for k, v := range secrets[name] {
				keys = append(keys, k)
				if s, _ := v.(string); !strings.HasPrefix(s, "CHANGE-ME") {
					t.Errorf("Secret %s: %s is %q, want a CHANGE-ME placeholder", name, k, s)
				}
			}
			if want := append([]string{m.Name + ".key"}, public...); !slices.Equal(slices.Sorted(slices.Values(keys)), slices.Sorted(slices.Values(want))) {
				t.Errorf("Secret %s holds %q, want %q", name, slices.Sorted(slices.Values(keys)), slices.Sorted(slices.Values(want)))
			}

			path := "k8s/base/" + m.Name + ".yaml"
			pod := at(t, documents(t, path, files[path])[0], "spec", "template", "spec")
			if got := at(t, pod, "volumes"); !equalYAML(t, got, []any{map[string]any{
				"name": "keys", "secret": map[string]any{"secretName": name, "defaultMode": 0o440},
			}}) {
				t.Errorf("%s: volumes %v, want Secret %s alone, mode 0440", path, got, name)
			}
			if g := at(t, pod, "securityContext", "fsGroup"); g != at(t, pod, "securityContext", "runAsGroup") || g == nil {
				t.Errorf("%s: fsGroup %v, want the process's group, which reads the keys", path, g)
			}
			if at(t, pod, "initContainers", 0, "volumeMounts") != nil {
				t.Errorf("%s: the init container mounts volumes; migrate needs no keys", path)
			}
			c := at(t, pod, "containers", 0)
			if got := at(t, c, "volumeMounts"); !equalYAML(t, got, []any{map[string]any{"name": "keys", "mountPath": deploy.KeysDir, "readOnly": true}}) {
				t.Errorf("%s: volumeMounts %v, want the keys read-only at %s", path, got, deploy.KeysDir)
			}
			if !slices.ContainsFunc(at(t, c, "env").([]any), func(e any) bool {
				return at(t, e, "name") == "UBERSERVICE_KEYS_DIR" && at(t, e, "value") == deploy.KeysDir
			}) {
				t.Errorf("%s: want UBERSERVICE_KEYS_DIR=%s", path, deploy.KeysDir)
			}
		}
		if docs := documents(t, "job.yaml", files["k8s/migrate/job.yaml"]); at(t, docs[0], "spec", "template", "spec", "volumes") != nil {
			t.Error("k8s/migrate/job.yaml: the Job mounts volumes; migrate needs no keys")
		}
		for path, data := range files {
			if bytes.Contains(data, []byte("PRIVATE"+" KEY")) {
				t.Errorf("%s holds a PEM private key", path)
			}
		}
	}
}
