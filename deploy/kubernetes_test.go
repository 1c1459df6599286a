package deploy_test

import (
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// deploy/k8s: the kustomize base, the migrate Job and the examples of the
// Secrets they read.

type kustomization struct {
	Resources          []string `yaml:"resources"`
	ConfigMapGenerator []struct {
		Name     string   `yaml:"name"`
		Literals []string `yaml:"literals"`
	} `yaml:"configMapGenerator"`
}

type objectMeta struct {
	Name   string            `yaml:"name"`
	Labels map[string]string `yaml:"labels"`
}

// object is any Kubernetes object, with the fields of the kinds used here.
type object struct {
	APIVersion string            `yaml:"apiVersion"`
	Kind       string            `yaml:"kind"`
	Metadata   objectMeta        `yaml:"metadata"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		// Deployment
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata objectMeta `yaml:"metadata"`
			Spec     podSpec    `yaml:"spec"`
		} `yaml:"template"`
		// Service: the selector is a plain map there, read separately.
		Ports []servicePort `yaml:"ports"`
	} `yaml:"spec"`
	serviceSelector map[string]string
}

type servicePort struct {
	Name       string `yaml:"name"`
	Port       int    `yaml:"port"`
	TargetPort string `yaml:"targetPort"`
}

type podSpec struct {
	SecurityContext struct {
		RunAsUser  *int64 `yaml:"runAsUser"`
		RunAsGroup *int64 `yaml:"runAsGroup"`
		FSGroup    *int64 `yaml:"fsGroup"`
	} `yaml:"securityContext"`
	InitContainers []container `yaml:"initContainers"`
	Containers     []container `yaml:"containers"`
	RestartPolicy  string      `yaml:"restartPolicy"`
	Volumes        []volume    `yaml:"volumes"`
}

type volume struct {
	Name   string `yaml:"name"`
	Secret *struct {
		SecretName  string `yaml:"secretName"`
		DefaultMode *int   `yaml:"defaultMode"`
		Items       []any  `yaml:"items"`
	} `yaml:"secret"`
	// Any other kind of volume: a projected one could hold a Secret too.
	Other map[string]any `yaml:",inline"`
}

type container struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Env   []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom *struct {
			SecretKeyRef *struct {
				Name string `yaml:"name"`
			} `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	EnvFrom []struct {
		ConfigMapRef *struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
		SubPath   string `yaml:"subPath"`
	} `yaml:"volumeMounts"`
	StartupProbe   *probe `yaml:"startupProbe"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext *struct {
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

func (c container) env(name string) (string, bool) {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value, true
		}
	}
	return "", false
}

// resolve is the value of the variable name in c as Kubernetes sets it, with
// config the generated ConfigMaps: env wins over envFrom, and a later envFrom
// source over an earlier one.
func (c container) resolve(config map[string]map[string]string, name string) (string, bool) {
	if v, ok := c.env(name); ok {
		return v, true
	}
	v, found := "", false
	for _, e := range c.EnvFrom {
		if e.ConfigMapRef != nil {
			if w, ok := config[e.ConfigMapRef.Name][name]; ok {
				v, found = w, true
			}
		}
	}
	return v, found
}

// envFromRefs names the ConfigMaps and Secrets c takes its environment from:
// whole, or a variable's value (secrets, once each).
func (c container) envFromRefs() (configMaps, secrets []string) {
	for _, e := range c.EnvFrom {
		if e.ConfigMapRef != nil {
			configMaps = append(configMaps, e.ConfigMapRef.Name)
		}
		if e.SecretRef != nil {
			secrets = append(secrets, e.SecretRef.Name)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			secrets = append(secrets, e.ValueFrom.SecretKeyRef.Name)
		}
	}
	slices.Sort(secrets)
	return configMaps, slices.Compact(secrets)
}

// kustomize is a kustomization read from dir: its own file, and the objects
// of the resources it lists.
type kustomize struct {
	kustomization
	objects  []object
	config   map[string]map[string]string // generated ConfigMaps: name -> data
	policies []networkPolicy              // the NetworkPolicies among the objects
}

// loadKustomization reads dir/kustomization.yaml and every resource it lists,
// each of which must exist and parse into objects with apiVersion, kind and a
// name. A YAML file of dir that it does not list fails too: it would never be
// applied.
func loadKustomization(t *testing.T, dir string) kustomize {
	t.Helper()
	var k kustomize
	docs := decodeAll(t, filepath.Join(dir, "kustomization.yaml"))
	if len(docs) != 1 {
		t.Fatalf("%s/kustomization.yaml: want one document", dir)
	}
	if err := docs[0].Decode(&k.kustomization); err != nil {
		t.Fatalf("%s/kustomization.yaml: %v", dir, err)
	}
	listed := map[string]bool{"kustomization.yaml": true}
	for _, r := range k.Resources {
		listed[r] = true
		path := filepath.Join(dir, r)
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s/kustomization.yaml lists %s: %v", dir, r, err)
			continue
		}
		for i, doc := range decodeAll(t, path) {
			var o object
			if err := doc.Decode(&o); err != nil {
				t.Errorf("%s, document %d: %v", path, i+1, err)
				continue
			}
			if o.APIVersion == "" || o.Kind == "" || o.Metadata.Name == "" {
				t.Errorf("%s, document %d: want apiVersion, kind and metadata.name", path, i+1)
				continue
			}
			if o.Kind == "Service" {
				var s struct {
					Spec struct {
						Selector map[string]string `yaml:"selector"`
					} `yaml:"spec"`
				}
				if err := doc.Decode(&s); err != nil {
					t.Errorf("%s, Service %s: %v", path, o.Metadata.Name, err)
				}
				o.serviceSelector = s.Spec.Selector
			}
			if o.Kind == "NetworkPolicy" {
				var p networkPolicy
				if err := doc.Decode(&p); err != nil {
					t.Errorf("%s, NetworkPolicy %s: %v", path, o.Metadata.Name, err)
				}
				k.policies = append(k.policies, p)
			}
			k.objects = append(k.objects, o)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	for _, f := range files {
		if !listed[filepath.Base(f)] {
			t.Errorf("%s is not among the resources of %s/kustomization.yaml, so it is never applied", f, dir)
		}
	}
	k.config = map[string]map[string]string{}
	for _, g := range k.ConfigMapGenerator {
		data := map[string]string{}
		for _, l := range g.Literals {
			key, v, _ := strings.Cut(l, "=")
			data[key] = v
		}
		k.config[g.Name] = data
	}
	for _, o := range k.objects {
		if o.Kind == "ConfigMap" {
			t.Errorf("%s: ConfigMap %s: generate it (configMapGenerator), so that a change rolls the Deployments out", dir, o.Metadata.Name)
		}
	}
	return k
}

func (k kustomize) find(kind, name string) (object, bool) {
	for _, o := range k.objects {
		if o.Kind == kind && o.Metadata.Name == name {
			return o, true
		}
	}
	return object{}, false
}

const (
	baseDir    = "k8s/base"
	migrateDir = "k8s/migrate"
	// secretFile shows databaseSecret.
	secretFile = "k8s/database-secret.example.yaml"
	// moduleSecretsExample shows the Secrets of the modules' credentials.
	moduleSecretsExample = "k8s/module-secrets.example.yaml"
	// keysExample shows the Secrets of the modules' keys.
	keysExample = "k8s/keys-secrets.example.yaml"
)

// moduleSecret names the Secret of module's credentials on Kubernetes: its
// own database URL and broker URL, which its container alone reads.
func moduleSecret(module string) string { return "uberservice-" + module }

// databaseURLEnv names the variable of module's own database URL.
func databaseURLEnv(module string) string {
	return "UBERSERVICE_DATABASE_URL_" + strings.ToUpper(module)
}

// image is the one image every container of uberservice runs: compose's.
func image(t *testing.T) string {
	t.Helper()
	img := loadCompose(t).Services["migrate"].Image
	if img == "" {
		t.Fatal("compose.yaml: migrate has no image")
	}
	return img
}

// checkContainer holds a container of the uberservice image to what every one
// shares: the image, ConfigMaps that the base generates, non-root on a
// read-only filesystem without privileges, and resources asked for and
// bounded. Which Secrets it reads is for
// TestKubernetesEachContainerReadsItsOwnCredentials to say.
func checkContainer(t *testing.T, where string, c container, img string, config map[string]map[string]string) {
	t.Helper()
	if c.Image != img {
		t.Errorf("%s: image %q, want %q as everywhere else", where, c.Image, img)
	}
	cms, _ := c.envFromRefs()
	for _, cm := range cms {
		if _, ok := config[cm]; !ok {
			t.Errorf("%s: envFrom configMapRef %s: the base generates no such ConfigMap", where, cm)
		}
	}
	sc := c.SecurityContext
	switch {
	case sc == nil:
		t.Errorf("%s: no securityContext", where)
	case sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot,
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem,
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation,
		!slices.Equal(sc.Capabilities.Drop, []string{"ALL"}):
		t.Errorf("%s: securityContext: want runAsNonRoot, readOnlyRootFilesystem, allowPrivilegeEscalation false, capabilities drop ALL", where)
	}
	for _, r := range []string{"cpu", "memory"} {
		if c.Resources.Requests[r] == "" || c.Resources.Limits[r] == "" {
			t.Errorf("%s: want a %s request and limit", where, r)
		}
	}
}

func checkPod(t *testing.T, where string, p podSpec) {
	t.Helper()
	if u := p.SecurityContext.RunAsUser; u == nil || *u == 0 {
		t.Errorf("%s: want the pod's securityContext.runAsUser, non-zero (the image's nonroot user is 65532)", where)
	}
}

func checkProbe(t *testing.T, where, kind string, p *probe, path string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port != "http" {
		t.Errorf("%s: want a %s that GETs %s on the port named http", where, kind, path)
	}
}

// Every module has a Deployment and a Service, labelled as its component, that
// run it on its two ports, migrate its schema first, and probe /healthz and
// /readyz on the public one.
func TestKubernetesRunsEveryModule(t *testing.T) {
	k := loadKustomization(t, baseDir)
	img := image(t)
	for _, m := range modules {
		t.Run(m.name, func(t *testing.T) {
			name := "uberservice-" + m.name
			labels := map[string]string{nameLabel: appName, componentLabel: m.name}
			d, ok := k.find("Deployment", name)
			if !ok {
				t.Fatalf("%s: no Deployment %s for module %s", baseDir, name, m.name)
			}
			where := "Deployment " + name
			if !mapsEqual(d.Spec.Selector.MatchLabels, labels) || !subset(labels, d.Spec.Template.Metadata.Labels) || !subset(labels, d.Metadata.Labels) {
				t.Errorf("%s: want selector, pod and Deployment labelled %v", where, labels)
			}
			pod := d.Spec.Template.Spec
			checkPod(t, where, pod)
			if len(pod.Containers) != 1 {
				t.Fatalf("%s: want one container, got %d", where, len(pod.Containers))
			}
			c := pod.Containers[0]
			checkContainer(t, where, c, img, k.config)
			if len(c.Args) > 0 && !slices.Equal(c.Args, []string{"run"}) {
				t.Errorf("%s: args %q: want run", where, c.Args)
			}
			if v, _ := c.env("UBERSERVICE_MODULES"); v != m.name {
				t.Errorf("%s: UBERSERVICE_MODULES=%q, want %s", where, v, m.name)
			}
			if v, _ := c.env("UBERSERVICE_LISTEN"); v != fmt.Sprintf("%s=:%d", m.name, m.port) {
				t.Errorf("%s: UBERSERVICE_LISTEN=%q, want %s=:%d", where, v, m.name, m.port)
			}
			if v, _ := c.env("UBERSERVICE_INTERNAL_LISTEN"); v != fmt.Sprintf("%s=:%d", m.name, m.internal) {
				t.Errorf("%s: UBERSERVICE_INTERNAL_LISTEN=%q, want %s=:%d", where, v, m.name, m.internal)
			}
			if len(c.Ports) != 2 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != m.port ||
				c.Ports[1].Name != "internal" || c.Ports[1].ContainerPort != m.internal {
				t.Errorf("%s: want two container ports, http %d and internal %d", where, m.port, m.internal)
			}
			if c.StartupProbe != nil {
				checkProbe(t, where, "startupProbe", c.StartupProbe, "/healthz")
			}
			checkProbe(t, where, "livenessProbe", c.LivenessProbe, "/healthz")
			checkProbe(t, where, "readinessProbe", c.ReadinessProbe, "/readyz")

			// Every schema is migrated, and every module's consumer group
			// created on the bus the module runs on, before the module serves:
			// a group exists from its creation on, so a module that published
			// before another's pod ever started would publish events that no
			// group keeps for it.
			if len(pod.InitContainers) != 1 {
				t.Fatalf("%s: want one init container (migrate), got %d", where, len(pod.InitContainers))
			}
			ic := pod.InitContainers[0]
			checkContainer(t, where+", init container "+ic.Name, ic, img, k.config)
			if !slices.Equal(ic.Args, []string{"migrate"}) {
				t.Errorf("%s: init container: args %q, want [migrate]", where, ic.Args)
			}
			if v, ok := ic.resolve(k.config, "UBERSERVICE_MODULES"); ok {
				t.Errorf("%s: init container: UBERSERVICE_MODULES=%q: want every module (unset), so that every consumer group exists before this module publishes", where, v)
			}
			// The bus itself is in each one's Secret, as a user of its own:
			// the module's, and the administrator's (the examples of the
			// Secrets name the same broker, TestKubernetesModuleSecretsExample).
			for which, cont := range map[string]container{"init container": ic, "container": c} {
				if v, ok := cont.resolve(k.config, "UBERSERVICE_BUS"); ok {
					t.Errorf("%s: %s: UBERSERVICE_BUS=%q outside its Secret: want the bus from its Secret, as a user of its own", where, which, v)
				}
			}
			got, _ := ic.resolve(k.config, "UBERSERVICE_BUS_NAMESPACE")
			if want, _ := c.resolve(k.config, "UBERSERVICE_BUS_NAMESPACE"); got != want {
				t.Errorf("%s: init container: UBERSERVICE_BUS_NAMESPACE=%q, the module's is %q: want the groups created where the modules consume", where, got, want)
			}
			if noMigrate, _ := c.resolve(k.config, "UBERSERVICE_NO_MIGRATE"); noMigrate != "true" {
				t.Errorf("%s: want UBERSERVICE_NO_MIGRATE=true: the init container migrates", where)
			}

			s, ok := k.find("Service", name)
			if !ok {
				t.Fatalf("%s: no Service %s for module %s", baseDir, name, m.name)
			}
			if !mapsEqual(s.serviceSelector, labels) {
				t.Errorf("Service %s: selector %v, want %v", name, s.serviceSelector, labels)
			}
			if len(s.Spec.Ports) != 2 || s.Spec.Ports[0].Port != m.port || s.Spec.Ports[0].TargetPort != "http" ||
				s.Spec.Ports[1].Port != m.internal || s.Spec.Ports[1].TargetPort != "internal" {
				t.Errorf("Service %s: want ports %d (targetPort http) and %d (targetPort internal)", name, m.port, m.internal)
			}
		})
	}
	for _, o := range k.objects {
		if o.Kind != "Deployment" && o.Kind != "Service" {
			continue
		}
		if _, ok := moduleNamed(o.Metadata.Labels[componentLabel]); !ok {
			t.Errorf("%s %s: component %q is no module of the binary", o.Kind, o.Metadata.Name, o.Metadata.Labels[componentLabel])
		}
	}
}

// The shared configuration holds no credentials, which are each module's own,
// and a peer URL for every module that another one calls, each at that
// module's Service and internal port.
func TestKubernetesConfig(t *testing.T) {
	k := loadKustomization(t, baseDir)
	if len(k.config) != 1 {
		t.Fatalf("%s: want one generated ConfigMap, got %d", baseDir, len(k.config))
	}
	for name, data := range k.config {
		for v := range data {
			if v == "UBERSERVICE_BUS" || v == "DATABASE_URL" || strings.HasPrefix(v, "UBERSERVICE_DATABASE_URL_") {
				t.Errorf("ConfigMap %s: %s: credentials that every module would read; want each module's own in its Secret", name, v)
			}
		}
		peers := pairs(t, "ConfigMap "+name+": UBERSERVICE_PEERS", data["UBERSERVICE_PEERS"])
		for _, m := range modules {
			for _, used := range m.uses {
				if _, ok := peers[used]; !ok {
					t.Errorf("ConfigMap %s: UBERSERVICE_PEERS has no %s, which %s calls", name, used, m.name)
				}
			}
		}
		for peer, u := range peers {
			p, ok := moduleNamed(peer)
			if !ok {
				t.Errorf("ConfigMap %s: UBERSERVICE_PEERS names %s, which is no module of the binary", name, peer)
				continue
			}
			host, port := peerURL(t, "ConfigMap "+name, u)
			s, ok := k.find("Service", host)
			switch {
			case !ok:
				t.Errorf("ConfigMap %s: peer %s=%s: no Service %s", name, peer, u, host)
			case s.serviceSelector[componentLabel] != peer:
				t.Errorf("ConfigMap %s: peer %s=%s: Service %s selects %q", name, peer, u, host, s.serviceSelector[componentLabel])
			case port != p.internal || !slices.ContainsFunc(s.Spec.Ports, func(sp servicePort) bool { return sp.Port == port && sp.TargetPort == "internal" }):
				t.Errorf("ConfigMap %s: peer %s=%s: want module %s's internal port %d, a port of its Service whose targetPort is internal", name, peer, u, peer, p.internal)
			}
		}
	}
}

// Each module's container reads its credentials from its own Secret, and from
// no other: not another module's, not the administrative one. The
// administrative Secret is read by migrate alone, in the init containers and
// the Job, which read no module's.
func TestKubernetesEachContainerReadsItsOwnCredentials(t *testing.T) {
	checked := 0
	for _, dir := range []string{baseDir, migrateDir} {
		for _, o := range loadKustomization(t, dir).objects {
			pod := o.Spec.Template.Spec
			for i, c := range slices.Concat(pod.InitContainers, pod.Containers) {
				where := fmt.Sprintf("%s: %s %s, container %s", dir, o.Kind, o.Metadata.Name, c.Name)
				want, what := databaseSecret, "migrate, which reads the administrative credentials alone"
				if o.Kind == "Deployment" && i >= len(pod.InitContainers) {
					component := o.Metadata.Labels[componentLabel]
					want, what = moduleSecret(component), "module "+component+"'s own credentials"
				}
				if _, secrets := c.envFromRefs(); !slices.Equal(secrets, []string{want}) {
					t.Errorf("%s reads Secrets %q: want %s alone, %s", where, secrets, want, what)
				}
				checked++
			}
		}
	}
	if checked < 2*len(modules)+1 {
		t.Fatalf("checked %d containers for %d modules: the manifests were not read", checked, len(modules))
	}
}

// secretsOf reads the Secrets of an example file, by name, each of whose
// values must be a placeholder.
func secretsOf(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	secrets := map[string]map[string]string{}
	for i, doc := range decodeAll(t, path) {
		var o object
		if err := doc.Decode(&o); err != nil || o.Kind != "Secret" {
			t.Errorf("%s, document %d: want a Secret (%v)", path, i+1, err)
			continue
		}
		secrets[o.Metadata.Name] = o.StringData
		for key, v := range o.StringData {
			if !strings.Contains(v, "CHANGE-ME") {
				t.Errorf("%s: Secret %s: %s is %q, want a CHANGE-ME placeholder", path, o.Metadata.Name, key, v)
			}
		}
	}
	if slices.Contains(loadKustomization(t, baseDir).Resources, "../"+filepath.Base(path)) {
		t.Errorf("%s is a resource of the base: `kubectl apply -k` would overwrite the real Secrets", path)
	}
	return secrets
}

// busUser is the user of a bus URL, "" if it names none.
func busUser(t *testing.T, bus string) string {
	t.Helper()
	u, err := url.Parse(bus)
	if err != nil {
		t.Errorf("UBERSERVICE_BUS=%q: %v", bus, err)
		return ""
	}
	return u.User.Username()
}

// The administrative Secret, which migrate reads, is given as an example with
// placeholders, outside the base: the administrative database URL, every
// module's database URL, from which migrate creates its role, and the broker
// as a user who is no module, its administrator.
func TestKubernetesDatabaseSecretExample(t *testing.T) {
	secrets := secretsOf(t, secretFile)
	data, ok := secrets[databaseSecret]
	if len(secrets) != 1 || !ok {
		t.Fatalf("%s: Secrets %v, want %s alone", secretFile, slices.Sorted(maps.Keys(secrets)), databaseSecret)
	}
	want := []string{"DATABASE_URL", "UBERSERVICE_BUS"}
	for _, m := range modules {
		if m.database {
			want = append(want, databaseURLEnv(m.name))
		}
	}
	if got := slices.Sorted(maps.Keys(data)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Errorf("%s: Secret %s holds %q, want %q", secretFile, databaseSecret, got, slices.Sorted(slices.Values(want)))
	}
	if admin := busUser(t, data["UBERSERVICE_BUS"]); admin == "" || !crossProcessBus(data["UBERSERVICE_BUS"]) {
		t.Errorf("%s: UBERSERVICE_BUS=%q: want the broker as its administrator", secretFile, data["UBERSERVICE_BUS"])
	} else if _, ok := moduleNamed(admin); ok {
		t.Errorf("%s: UBERSERVICE_BUS=%q: the user of module %s, whose permissions are its own declarations: want the administrator, who creates every module's consumer group", secretFile, data["UBERSERVICE_BUS"], admin)
	}
}

// The Secrets of the modules' credentials are given as an example with
// placeholders, outside the base: a Secret per module, as its container reads
// it, with its own database URL (if it keeps data), the one migrate creates
// its role from, and the broker as its own user, on the broker where migrate
// creates the consumer groups; nothing else, and no Secret of no module.
func TestKubernetesModuleSecretsExample(t *testing.T) {
	admin := secretsOf(t, secretFile)[databaseSecret]
	secrets := secretsOf(t, moduleSecretsExample)
	for _, m := range modules {
		name := moduleSecret(m.name)
		data, ok := secrets[name]
		if !ok {
			t.Errorf("%s: no Secret %s for module %s", moduleSecretsExample, name, m.name)
			continue
		}
		delete(secrets, name)
		want := []string{"UBERSERVICE_BUS"}
		if m.database {
			want = append(want, databaseURLEnv(m.name))
		}
		if got := slices.Sorted(maps.Keys(data)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
			t.Errorf("%s: Secret %s holds %q, want %q: its own credentials alone", moduleSecretsExample, name, got, slices.Sorted(slices.Values(want)))
		}
		if db := databaseURLEnv(m.name); m.database && (data[db] != admin[db] || !strings.Contains(data[db], "://uberservice_"+m.name+":")) {
			t.Errorf("%s: Secret %s: %s=%q, %s's is %q: want the module's own role, the one migrate creates", moduleSecretsExample, name, db, data[db], databaseSecret, admin[db])
		}
		bus := data["UBERSERVICE_BUS"]
		if user := busUser(t, bus); user != m.name {
			t.Errorf("%s: Secret %s: UBERSERVICE_BUS=%q: want the broker as the module's own user, %s, whose permissions are its declarations", moduleSecretsExample, name, bus, m.name)
		}
		if !sameBroker(bus, admin["UBERSERVICE_BUS"]) {
			t.Errorf("%s: Secret %s: UBERSERVICE_BUS=%q, %s's is %q: want the broker on which migrate creates the consumer groups", moduleSecretsExample, name, bus, databaseSecret, admin["UBERSERVICE_BUS"])
		}
	}
	for name := range secrets {
		t.Errorf("%s: Secret %s is no module's", moduleSecretsExample, name)
	}
}

// The migrate Job runs `uberservice migrate` from the same image against the
// same database and the same bus as the base's init containers, so that it
// creates the consumer groups where the modules consume.
func TestKubernetesMigrateJob(t *testing.T) {
	k := loadKustomization(t, migrateDir)
	j, ok := k.find("Job", "uberservice-migrate")
	if !ok {
		t.Fatalf("%s: no Job uberservice-migrate", migrateDir)
	}
	pod := j.Spec.Template.Spec
	checkPod(t, "Job uberservice-migrate", pod)
	if len(pod.Containers) != 1 || !slices.Equal(pod.Containers[0].Args, []string{"migrate"}) {
		t.Fatal("Job uberservice-migrate: want one container with args [migrate]")
	}
	job := pod.Containers[0]
	checkContainer(t, "Job uberservice-migrate", job, image(t), nil)
	if pod.RestartPolicy != "Never" && pod.RestartPolicy != "OnFailure" {
		t.Errorf("Job uberservice-migrate: restartPolicy %q", pod.RestartPolicy)
	}
	if v, ok := job.env("UBERSERVICE_MODULES"); ok {
		t.Errorf("Job uberservice-migrate: UBERSERVICE_MODULES=%q: want every module", v)
	}
	// The broker is the administrative Secret's, as the base's init
	// containers read it.
	if v, ok := job.env("UBERSERVICE_BUS"); ok {
		t.Errorf("Job uberservice-migrate: UBERSERVICE_BUS=%q: want the broker's administrator, from %s, as the base's init containers", v, databaseSecret)
	}
	base := loadKustomization(t, baseDir)
	for name, data := range base.config {
		if got, _ := job.env("UBERSERVICE_BUS_NAMESPACE"); got != data["UBERSERVICE_BUS_NAMESPACE"] {
			t.Errorf("Job uberservice-migrate: UBERSERVICE_BUS_NAMESPACE=%q, the base's ConfigMap %s has %q: want the groups created where the modules consume", got, name, data["UBERSERVICE_BUS_NAMESPACE"])
		}
	}
}

func mapsEqual(a, b map[string]string) bool { return len(a) == len(b) && subset(a, b) }

// subset reports whether every entry of a is in b.
func subset(a, b map[string]string) bool {
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
