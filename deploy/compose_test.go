package deploy_test

import (
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"gopkg.in/yaml.v3"
)

// deploy/compose.yaml: the split topology on Docker Compose.

type composeFile struct {
	Services map[string]composeService `yaml:"services"`
}

type composeService struct {
	Image string `yaml:"image"`
	Build struct {
		Context    string `yaml:"context"`
		Dockerfile string `yaml:"dockerfile"`
	} `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Ports       []string          `yaml:"ports"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	DependsOn map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Volumes []composeVolume `yaml:"volumes"`
}

// composeVolume is a volume of a service, written in the long syntax or the
// short one, [SOURCE:]TARGET[:MODE].
type composeVolume struct {
	Type     string `yaml:"type"` // bind, volume, ...
	Source   string `yaml:"source"`
	Target   string `yaml:"target"`
	ReadOnly bool   `yaml:"read_only"`
	Bind     struct {
		// CreateHostPath: Docker creates a missing source folder, empty and
		// owned by root. The long syntax's default is false, the short's true.
		CreateHostPath bool `yaml:"create_host_path"`
	} `yaml:"bind"`
}

func (v *composeVolume) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		type long composeVolume // without this method
		return n.Decode((*long)(v))
	}
	parts := strings.Split(n.Value, ":")
	*v = composeVolume{Type: "volume", Target: parts[0]}
	if len(parts) > 1 {
		v.Source, v.Target = parts[0], parts[1]
		if strings.HasPrefix(v.Source, ".") || strings.HasPrefix(v.Source, "/") || strings.HasPrefix(v.Source, "~") {
			v.Type = "bind"
			v.Bind.CreateHostPath = true
		}
	}
	if len(parts) > 2 {
		v.ReadOnly = slices.Contains(strings.Split(parts[2], ","), "ro")
	}
	return nil
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	docs := decodeAll(t, "compose.yaml")
	if len(docs) != 1 {
		t.Fatalf("compose.yaml: want one document, got %d", len(docs))
	}
	var c composeFile
	if err := docs[0].Decode(&c); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return c
}

// The migrate service builds the image from the repository's Dockerfile and
// runs `uberservice migrate` once, after Postgres and the broker are healthy,
// on the modules' broker: it creates every module's consumer group before any
// module starts, so that no module publishes events that no group keeps for a
// module not started yet. It connects as a user of its own, the broker's
// administrator, as each module does as its own (TestComposeBrokerUsers).
func TestComposeMigrate(t *testing.T) {
	c := loadCompose(t)
	mig, ok := c.Services["migrate"]
	if !ok {
		t.Fatal("compose.yaml: no migrate service")
	}
	if !slices.Equal(mig.Command, []string{"migrate"}) {
		t.Errorf("migrate: command %q, want [migrate]", mig.Command)
	}
	if mig.Environment["DATABASE_URL"] == "" {
		t.Error("migrate: no DATABASE_URL")
	}
	if dockerfile := filepath.Join(mig.Build.Context, mig.Build.Dockerfile); filepath.Clean(dockerfile) != filepath.Join(root, "Dockerfile") {
		t.Errorf("migrate: builds %s, want the repository's Dockerfile (build.context .., relative to deploy/)", dockerfile)
	}
	db := dependency(t, c, "migrate", "DATABASE_URL", mig.Environment["DATABASE_URL"])
	if db != "" && mig.DependsOn[db].Condition != "service_healthy" {
		t.Errorf("migrate: want depends_on %s: condition: service_healthy", db)
	}
	if pg := c.Services[db]; !slices.Contains(pg.Healthcheck.Test, "pg_isready") {
		t.Errorf("%s: want a pg_isready healthcheck, got %q", db, pg.Healthcheck.Test)
	}

	if mig.Environment["UBERSERVICE_MODULES"] != "" {
		t.Errorf("migrate: UBERSERVICE_MODULES=%q: want every module", mig.Environment["UBERSERVICE_MODULES"])
	}
	bus := mig.Environment["UBERSERVICE_BUS"]
	for _, m := range modules {
		env := c.Services[m.name].Environment
		if !sameBroker(bus, env["UBERSERVICE_BUS"]) {
			t.Errorf("migrate: UBERSERVICE_BUS=%q, module %s's is %q: want the consumer groups created on the broker the modules consume from", bus, m.name, env["UBERSERVICE_BUS"])
		}
		if v := "UBERSERVICE_BUS_NAMESPACE"; mig.Environment[v] != env[v] {
			t.Errorf("migrate: %s=%q, module %s's is %q: want the consumer groups created where the modules consume", v, mig.Environment[v], m.name, env[v])
		}
	}
	if !crossProcessBus(bus) {
		t.Errorf("migrate: UBERSERVICE_BUS=%q: want the modules' broker, on which migrate creates the consumer groups", bus)
	} else if strings.Contains(bus, "://") {
		if broker := dependency(t, c, "migrate", "UBERSERVICE_BUS", bus); broker != "" && mig.DependsOn[broker].Condition != "service_healthy" {
			t.Errorf("migrate: want depends_on %s: condition: service_healthy", broker)
		}
	}
}

// sameBroker reports whether the bus URLs a and b name the same broker, as
// whichever users: the same scheme, host and port, and the same path (a
// RabbitMQ vhost).
func sameBroker(a, b string) bool {
	u, errU := url.Parse(a)
	v, errV := url.Parse(b)
	if errU != nil || errV != nil || u.Scheme == "" {
		return a == b
	}
	return u.Scheme == v.Scheme && u.Host == v.Host && u.Path == v.Path
}

// dependency returns the compose service that raw, a URL in service name's
// configuration, names as its host, failing when there is none.
func dependency(t *testing.T, c composeFile, name, what, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		t.Errorf("%s: %s %q: want a URL with a host", name, what, raw)
		return ""
	}
	if _, ok := c.Services[u.Hostname()]; !ok {
		t.Errorf("%s: %s %q names host %s, which is no service of compose.yaml", name, what, raw, u.Hostname())
		return ""
	}
	return u.Hostname()
}

// Every module runs in a service of its own, named after it, from the same
// image as migrate, on its two ports, with the peers it calls at their
// internal ports, a cross-process bus, and a healthcheck on the public /readyz.
func TestComposeRunsEveryModule(t *testing.T) {
	c := loadCompose(t)
	mig := c.Services["migrate"]
	for _, m := range modules {
		t.Run(m.name, func(t *testing.T) {
			svc, ok := c.Services[m.name]
			if !ok {
				t.Fatalf("compose.yaml: no service %s for module %s", m.name, m.name)
			}
			env := svc.Environment
			if svc.Image != mig.Image || svc.Build != mig.Build {
				t.Errorf("image %q built from %+v; migrate's is %q from %+v: want one image", svc.Image, svc.Build, mig.Image, mig.Build)
			}
			if len(svc.Command) > 0 && !slices.Equal(svc.Command, []string{"run"}) {
				t.Errorf("command %q: want the image's default (run)", svc.Command)
			}
			if env["UBERSERVICE_MODULES"] != m.name {
				t.Errorf("UBERSERVICE_MODULES=%q, want %s", env["UBERSERVICE_MODULES"], m.name)
			}
			if want := fmt.Sprintf("%s=:%d", m.name, m.port); env["UBERSERVICE_LISTEN"] != want {
				t.Errorf("UBERSERVICE_LISTEN=%q, want %s", env["UBERSERVICE_LISTEN"], want)
			}
			if want := fmt.Sprintf("%s=:%d", m.name, m.internal); env["UBERSERVICE_INTERNAL_LISTEN"] != want {
				t.Errorf("UBERSERVICE_INTERNAL_LISTEN=%q, want %s", env["UBERSERVICE_INTERNAL_LISTEN"], want)
			}
			// A module connects with its own URL, as its own role, and never
			// with the administrative one that migrate creates the roles with.
			if url, ok := env["DATABASE_URL"]; ok {
				t.Errorf("DATABASE_URL=%q: a module's container must not hold the administrative URL", url)
			}
			own := databaseURLEnv(m.name)
			if m.database && (env[own] == "" || env[own] != mig.Environment[own] || !strings.Contains(env[own], "://uberservice_"+m.name+":")) {
				t.Errorf("%s=%q, migrate's is %q: want the module's own role, the one migrate provisions", own, env[own], mig.Environment[own])
			}
			if env["UBERSERVICE_NO_MIGRATE"] != "true" {
				t.Error("want UBERSERVICE_NO_MIGRATE=true: the migrate service migrates")
			}
			if svc.DependsOn["migrate"].Condition != "service_completed_successfully" {
				t.Error("want depends_on migrate: condition: service_completed_successfully")
			}
			bus := env["UBERSERVICE_BUS"]
			if !crossProcessBus(bus) {
				t.Errorf("UBERSERVICE_BUS=%q: every module runs in its own process, so events need a broker", bus)
			} else if strings.Contains(bus, "://") {
				if broker := dependency(t, c, m.name, "UBERSERVICE_BUS", bus); broker != "" && svc.DependsOn[broker].Condition != "service_healthy" {
					t.Errorf("want depends_on %s: condition: service_healthy", broker)
				}
				// Its own user, whose permissions are its declarations, and
				// never the administrator, who may publish and consume anything.
				if u, err := url.Parse(bus); err != nil || u.User.Username() != m.name {
					t.Errorf("UBERSERVICE_BUS=%q: want the broker as the module's own user, %s", bus, m.name)
				}
			}
			peers := pairs(t, m.name+": UBERSERVICE_PEERS", env["UBERSERVICE_PEERS"])
			if got := slices.Sorted(maps.Keys(peers)); !slices.Equal(got, slices.Sorted(slices.Values(m.peers()))) {
				t.Errorf("UBERSERVICE_PEERS names %q; the module reaches %q", got, m.peers())
			}
			for peer, u := range peers {
				host, port := peerURL(t, m.name, u)
				target, ok := c.Services[host]
				if !ok {
					t.Errorf("peer %s=%s: no service %s", peer, u, host)
					continue
				}
				if target.Environment["UBERSERVICE_MODULES"] != peer {
					t.Errorf("peer %s=%s: service %s runs %q", peer, u, host, target.Environment["UBERSERVICE_MODULES"])
				}
				// The gateway is served on the internal port alone.
				if p, ok := moduleNamed(peer); ok && port != p.internal {
					t.Errorf("peer %s=%s: want module %s's internal port, %d", peer, u, peer, p.internal)
				}
				if want := fmt.Sprintf("%s=:%d", peer, port); target.Environment["UBERSERVICE_INTERNAL_LISTEN"] != want {
					t.Errorf("peer %s=%s: service %s has its internal API on %q", peer, u, host, target.Environment["UBERSERVICE_INTERNAL_LISTEN"])
				}
			}
			published := false
			for _, p := range svc.Ports {
				parts := strings.Split(p, ":")
				published = published || (len(parts) >= 2 && parts[len(parts)-1] == strconv.Itoa(m.port) && parts[len(parts)-2] == strconv.Itoa(m.port))
			}
			if !published {
				t.Errorf("ports %q: want %d published as %d", svc.Ports, m.port, m.port)
			}
			if want := []string{"CMD", "/uberservice", "probe", fmt.Sprintf("http://127.0.0.1:%d/readyz", m.port)}; !slices.Equal(svc.Healthcheck.Test, want) {
				t.Errorf("healthcheck %q, want %q", svc.Healthcheck.Test, want)
			}
		})
	}
	// Every service of the image runs migrate or known modules, each module once.
	runs := map[string]int{}
	for name, svc := range c.Services {
		if svc.Image != mig.Image || name == "migrate" {
			continue
		}
		for _, n := range strings.Split(svc.Environment["UBERSERVICE_MODULES"], ",") {
			if _, ok := moduleNamed(n); !ok {
				t.Errorf("service %s runs %q, which is no module of the binary", name, n)
			}
			runs[n]++
		}
	}
	for n, k := range runs {
		if k != 1 {
			t.Errorf("module %s runs in %d services, want 1", n, k)
		}
	}
}

// natsConf is the NATS server's configuration that `uberservice deploy
// brokers` renders, relative to deploy/.
const natsConf = "brokers/nats-server.conf"

// natsUser is a user line of natsConf, `{user: NAME, password: $VARIABLE`:
// its name, and the environment variable nats-server reads its password from.
var natsUser = regexp.MustCompile(`\{user: ([^,\s]+), password: \$(\w+)`)

// natsUsers reads natsConf's users: the variable of each user's password, by
// user.
func natsUsers(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(natsConf)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]string{}
	for _, match := range natsUser.FindAllStringSubmatch(string(data), -1) {
		users[match[1]] = match[2]
	}
	if len(users) < len(modules) {
		t.Fatalf("%s: read users %v, fewer than the %d modules: the check would prove nothing", natsConf, users, len(modules))
	}
	return users
}

// natsService is the service of the broker that compose.yaml's modules use,
// by name, failing unless it is NATS.
func natsService(t *testing.T, c composeFile) (string, composeService) {
	t.Helper()
	bus := c.Services[modules[0].name].Environment["UBERSERVICE_BUS"]
	u, err := url.Parse(bus)
	if err != nil || u.Scheme != "nats" {
		t.Fatalf("%s: UBERSERVICE_BUS=%q: compose.yaml runs NATS; check the broker it runs instead", modules[0].name, bus)
	}
	return u.Hostname(), c.Services[u.Hostname()]
}

// The NATS the modules use runs with natsConf, mounted read-only where its
// command reads its configuration, and so with JetStream, which durable
// consumer groups need, and the modules' users; and it says when it is
// healthy.
func TestComposeNATS(t *testing.T) {
	name, nats := natsService(t, loadCompose(t))
	i := slices.IndexFunc(nats.Command, func(arg string) bool { return arg == "-c" || arg == "--config" })
	if i < 0 || i+1 >= len(nats.Command) {
		t.Fatalf("%s: command %q: want -c, the configuration of %s", name, nats.Command, natsConf)
	}
	conf := nats.Command[i+1]
	var at []composeVolume
	for _, v := range nats.Volumes {
		if path.Clean(v.Target) == path.Clean(conf) {
			at = append(at, v)
		}
	}
	if len(at) != 1 || at[0].Type != "bind" || filepath.Clean(at[0].Source) != filepath.FromSlash(natsConf) || !at[0].ReadOnly || at[0].Bind.CreateHostPath {
		t.Errorf("%s: volumes %+v: want %s mounted at %s, read-only, and not created empty when missing (long syntax, create_host_path: false)", name, nats.Volumes, natsConf, conf)
	}
	data, err := os.ReadFile(natsConf)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^jetstream\s*\{`).Match(data) && !slices.Contains(nats.Command, "--jetstream") && !slices.Contains(nats.Command, "-js") {
		t.Errorf("%s: neither %s nor the command %q enables JetStream", name, natsConf, nats.Command)
	}
	if !slices.ContainsFunc(nats.Healthcheck.Test, func(s string) bool { return strings.HasSuffix(s, ":8222/healthz") }) {
		t.Errorf("%s: healthcheck %q: want one on the monitoring port's /healthz", name, nats.Healthcheck.Test)
	}
}

// Each module connects to NATS as its own user of natsConf, with the password
// the nats service gives that user, and migrate as another user of natsConf,
// the administrator, who is no module; the nats service sets the password of
// every user natsConf names, without which nats-server does not start.
func TestComposeBrokerUsers(t *testing.T) {
	c := loadCompose(t)
	name, nats := natsService(t, c)
	users := natsUsers(t)
	for user, v := range users {
		if nats.Environment[v] == "" {
			t.Errorf("%s: %s names user %s's password $%s, which the service's environment does not set", name, natsConf, user, v)
		}
	}
	// connects checks that service connects as a user of natsConf, with that
	// user's password, and returns the user.
	connects := func(service string) string {
		bus := c.Services[service].Environment["UBERSERVICE_BUS"]
		u, err := url.Parse(bus)
		if err != nil || u.User == nil {
			t.Errorf("%s: UBERSERVICE_BUS=%q: want nats://USER:PASSWORD@...", service, bus)
			return ""
		}
		user := u.User.Username()
		password, _ := u.User.Password()
		switch v, ok := users[user]; {
		case !ok:
			t.Errorf("%s: UBERSERVICE_BUS=%q: %s has no user %s", service, bus, natsConf, user)
		case password != nats.Environment[v]:
			t.Errorf("%s: UBERSERVICE_BUS=%q: want user %s's password, %q (%s's $%s)", service, bus, user, nats.Environment[v], name, v)
		}
		return user
	}
	for _, m := range modules {
		if user := connects(m.name); user != m.name {
			t.Errorf("%s: connects to NATS as %q: want its own user, %s, whose permissions are its declarations", m.name, user, m.name)
		}
	}
	if admin := connects("migrate"); admin != "" {
		if _, ok := moduleNamed(admin); ok {
			t.Errorf("migrate: connects to NATS as module %s, whose permissions are its own declarations: want the administrator, who creates every module's consumer group", admin)
		}
	}
}

// The healthcheck works: run by the binary against a server that stands in for
// the module, it passes while /readyz answers 200 and fails on a 503.
func TestComposeHealthcheckProbesReadiness(t *testing.T) {
	var status atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	c := loadCompose(t)
	for _, m := range modules {
		test := c.Services[m.name].Healthcheck.Test
		if len(test) < 3 || test[0] != "CMD" || test[1] != "/uberservice" {
			t.Errorf("%s: healthcheck %q: want [CMD /uberservice ...], the binary as the image has it", m.name, test)
			continue
		}
		// The module's own address becomes the stand-in's.
		args := slices.Clone(test[2:])
		for i, a := range args {
			args[i] = strings.Replace(a, fmt.Sprintf("http://127.0.0.1:%d", m.port), srv.URL, 1)
		}
		for _, code := range []int{http.StatusOK, http.StatusServiceUnavailable} {
			status.Store(int32(code))
			err := exec.Command(binary, args...).Run()
			if ready := code == http.StatusOK; (err == nil) != ready {
				t.Errorf("%s: healthcheck `uberservice %s` on a /readyz answering %d: err = %v, want healthy = %v", m.name, strings.Join(args, " "), code, err, ready)
			}
		}
	}
}
