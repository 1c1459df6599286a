package deploy_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// deploy/k8s/base/network-policies.yaml: who may reach which port of an
// uberservice pod, judged here as Kubernetes reads NetworkPolicies for
// ingress, against the modules' declarations.

// operatorLabel, set to "true", admits a pod to every module's internal port,
// for the ops routes: the convention network-policies.yaml documents.
const operatorLabel = "uberservice.io/operator"

type networkPolicy struct {
	Metadata objectMeta `yaml:"metadata"`
	Spec     struct {
		PodSelector labelSelector `yaml:"podSelector"`
		PolicyTypes []string      `yaml:"policyTypes"`
		Ingress     []ingressRule `yaml:"ingress"`
		Egress      []any         `yaml:"egress"`
	} `yaml:"spec"`
}

type labelSelector struct {
	MatchLabels      map[string]string `yaml:"matchLabels"`
	MatchExpressions []any             `yaml:"matchExpressions"`
}

type ingressRule struct {
	From  []policyPeer `yaml:"from"`
	Ports []policyPort `yaml:"ports"`
}

type policyPeer struct {
	PodSelector       *labelSelector `yaml:"podSelector"`
	NamespaceSelector *labelSelector `yaml:"namespaceSelector"`
	IPBlock           any            `yaml:"ipBlock"`
}

type policyPort struct {
	Protocol string `yaml:"protocol"`
	Port     any    `yaml:"port"` // a number, or the name of a container port
	EndPort  *int   `yaml:"endPort"`
}

// party is one end of a connection: a pod of the namespace the base is
// applied in, with its labels and, as a destination, its named container
// ports; or, outside, anything beyond it: an Ingress controller in a
// namespace of its own, a load balancer, the internet.
type party struct {
	name     string
	module   string // the module whose pods these are, if any
	operator bool   // labelled operatorLabel=true
	outside  bool
	labels   map[string]string
	ports    map[string]int
	// source says the party only opens connections here: it is none of
	// uberservice's pods, and what reaches it is no business of the base.
	source bool
}

// matches reports whether s selects a pod labelled labels. matchExpressions
// are not modelled: an error, so that a policy using them fails here rather
// than being judged wrong.
func (s labelSelector) matches(labels map[string]string) (bool, error) {
	if len(s.MatchExpressions) > 0 {
		return false, fmt.Errorf("matchExpressions are not modelled by this test")
	}
	return subset(s.MatchLabels, labels), nil
}

// admits reports whether policies let src open a TCP connection to dst on
// port, as Kubernetes decides for ingress: a pod no Ingress policy selects
// admits everything; a pod some select admits what one of their rules does; a
// rule admits when one of its ports and one of its sources match, and no
// ports (no sources) is every port (every source). What this does not model
// (namespaceSelector, ipBlock, matchExpressions, egress) is an error.
func admits(policies []networkPolicy, src, dst party, port int) (bool, error) {
	isolated := false
	for _, p := range policies {
		where := "NetworkPolicy " + p.Metadata.Name
		types := p.Spec.PolicyTypes
		if slices.Contains(types, "Egress") || len(p.Spec.Egress) > 0 {
			return false, fmt.Errorf("%s: restricts egress, which this test does not model; model it before you restrict it", where)
		}
		if len(types) > 0 && !slices.Contains(types, "Ingress") {
			continue
		}
		selected, err := p.Spec.PodSelector.matches(dst.labels)
		if err != nil {
			return false, fmt.Errorf("%s: podSelector: %w", where, err)
		}
		if !selected {
			continue
		}
		isolated = true
		for i, r := range p.Spec.Ingress {
			ports, err := r.admitsPort(dst, port)
			if err != nil {
				return false, fmt.Errorf("%s, ingress rule %d: %w", where, i+1, err)
			}
			from, err := r.admitsSource(src)
			if err != nil {
				return false, fmt.Errorf("%s, ingress rule %d: %w", where, i+1, err)
			}
			if ports && from {
				return true, nil
			}
		}
	}
	return !isolated, nil
}

func (r ingressRule) admitsPort(dst party, port int) (bool, error) {
	if len(r.Ports) == 0 {
		return true, nil
	}
	for _, p := range r.Ports {
		if p.Protocol != "" && p.Protocol != "TCP" {
			continue
		}
		switch v := p.Port.(type) {
		case nil:
			return true, nil
		case int:
			if port == v || (p.EndPort != nil && v <= port && port <= *p.EndPort) {
				return true, nil
			}
		case string:
			if n, ok := dst.ports[v]; ok && n == port {
				return true, nil
			}
		default:
			return false, fmt.Errorf("port %v: want a number or a name", p.Port)
		}
	}
	return false, nil
}

func (r ingressRule) admitsSource(src party) (bool, error) {
	if len(r.From) == 0 {
		return true, nil
	}
	for _, peer := range r.From {
		switch {
		case peer.IPBlock != nil:
			return false, fmt.Errorf("from ipBlock is not modelled by this test")
		case peer.NamespaceSelector != nil:
			return false, fmt.Errorf("from namespaceSelector is not modelled by this test")
		case peer.PodSelector == nil:
			return false, fmt.Errorf("a source with neither podSelector, namespaceSelector nor ipBlock")
		}
		// A podSelector alone selects pods of the policy's own namespace.
		ok, err := peer.PodSelector.matches(src.labels)
		if err != nil {
			return false, fmt.Errorf("from podSelector: %w", err)
		}
		if ok && !src.outside {
			return true, nil
		}
	}
	return false, nil
}

// declared says whether src may reach dst on port by the modules'
// declarations: a module's public port from anywhere; its internal port from
// the pods of the modules that use its gateway, and operators; nothing else,
// and nothing at all on a pod that is no module's.
func declared(src, dst party, port int) bool {
	m, ok := moduleNamed(dst.module)
	switch {
	case !ok:
		return false
	case port == m.port:
		return true
	case port != m.internal:
		return false
	case src.operator:
		return true
	}
	caller, ok := moduleNamed(src.module)
	return ok && slices.Contains(caller.peers(), m.name)
}

// breaches lists every connection between parties, on ports, that policies
// admit and the declarations do not, or the other way round, and any policy
// that cannot be judged.
func breaches(policies []networkPolicy, parties []party, ports []int) []string {
	var out []string
	for _, dst := range parties {
		if dst.source {
			continue
		}
		for _, src := range parties {
			for _, port := range ports {
				got, err := admits(policies, src, dst, port)
				if err != nil {
					return append(out, err.Error())
				}
				switch want := declared(src, dst, port); {
				case got && !want:
					out = append(out, fmt.Sprintf("from %s to %s, port %d: admitted, but no declaration allows it", src.name, dst.name, port))
				case !got && want:
					out = append(out, fmt.Sprintf("from %s to %s, port %d: refused, but the declarations allow it", src.name, dst.name, port))
				}
			}
		}
	}
	return out
}

// parties are the pods of the base and of the migrate Job, labelled and with
// the ports their manifests give them, an operator's pod, a pod of some other
// application in the namespace, and the outside; ports are every port of the
// modules and a few that are none of theirs.
func parties(t *testing.T) ([]party, []int) {
	t.Helper()
	base, migrate := loadKustomization(t, baseDir), loadKustomization(t, migrateDir)
	var out []party
	ports := []int{1, 4222, 5432, 8222}
	for _, m := range modules {
		d, ok := base.find("Deployment", "uberservice-"+m.name)
		if !ok {
			t.Fatalf("%s: no Deployment uberservice-%s", baseDir, m.name)
		}
		p := party{name: m.name + "'s pods", module: m.name, labels: d.Spec.Template.Metadata.Labels, ports: map[string]int{}}
		for _, c := range d.Spec.Template.Spec.Containers {
			for _, cp := range c.Ports {
				p.ports[cp.Name] = cp.ContainerPort
			}
		}
		out = append(out, p)
		ports = append(ports, m.port, m.internal)
	}
	j, ok := migrate.find("Job", "uberservice-migrate")
	if !ok {
		t.Fatalf("%s: no Job uberservice-migrate", migrateDir)
	}
	return append(out,
		party{name: "the migrate Job's pods", labels: j.Spec.Template.Metadata.Labels},
		party{name: "an operator's pod", operator: true, labels: map[string]string{operatorLabel: "true"}, source: true},
		party{name: "another application's pod", labels: map[string]string{nameLabel: "other"}, source: true},
		party{name: "the outside", outside: true, source: true},
	), ports
}

// The NetworkPolicies of the base admit, on every module's pods, the public
// port from anywhere and the internal port from the pods of the modules that
// declare uses of its gateway and from operators' pods, and nothing else; the
// migrate Job's pods admit nothing.
func TestKubernetesNetworkPoliciesFollowTheDeclarations(t *testing.T) {
	k := loadKustomization(t, baseDir)
	if len(k.policies) < 1+len(modules) {
		t.Fatalf("%s: %d NetworkPolicies, want a default deny and one per module", baseDir, len(k.policies))
	}
	ps, ports := parties(t)
	for _, b := range breaches(k.policies, ps, ports) {
		t.Error(b)
	}
	// The judge proves something only if the declarations give it callers to
	// admit and others to refuse.
	calls := 0
	for _, m := range modules {
		calls += len(m.uses)
	}
	if calls == 0 || calls == len(modules)*(len(modules)-1) {
		t.Fatalf("the modules call %d gateways of each other: the check would prove little", calls)
	}
}

// The judge finds the breaches a wrong policy would open or close, on the
// base's own policies made wrong one way at a time.
func TestNetworkPolicyJudgeFindsBreaches(t *testing.T) {
	ps, ports := parties(t)
	// callee is a module some other module uses, caller one of those, and
	// stranger one that does not use it.
	var callee, caller, stranger module
	for _, c := range modules {
		if len(c.uses) > 0 {
			caller, callee = c, must(moduleNamed(c.uses[0]))
			break
		}
	}
	for _, m := range modules {
		if m.name != callee.name && !slices.Contains(m.peers(), callee.name) {
			stranger = m
		}
	}
	if caller.name == "" || stranger.name == "" {
		t.Fatal("no module calls another, or every one calls the same: nothing to break")
	}
	internalRule := func(t *testing.T, policies []networkPolicy, m module) *ingressRule {
		for i := range policies {
			for j, r := range policies[i].Spec.Ingress {
				if len(r.Ports) > 0 && r.Ports[0].Port == m.internal {
					return &policies[i].Spec.Ingress[j]
				}
			}
		}
		t.Fatalf("no ingress rule on %s's internal port %d", m.name, m.internal)
		return nil
	}
	componentSelector := func(m module) policyPeer {
		return policyPeer{PodSelector: &labelSelector{MatchLabels: map[string]string{nameLabel: appName, componentLabel: m.name}}}
	}
	for name, tc := range map[string]struct {
		breakIt func(t *testing.T, ps []networkPolicy) []networkPolicy
		want    string
	}{
		"an internal rule without from": {func(t *testing.T, ps []networkPolicy) []networkPolicy {
			internalRule(t, ps, callee).From = nil
			return ps
		}, fmt.Sprintf("from the outside to %s's pods, port %d: admitted", callee.name, callee.internal)},
		"a caller left out": {func(t *testing.T, ps []networkPolicy) []networkPolicy {
			r := internalRule(t, ps, callee)
			r.From = slices.DeleteFunc(r.From, func(p policyPeer) bool {
				return p.PodSelector != nil && p.PodSelector.MatchLabels[componentLabel] == caller.name
			})
			return ps
		}, fmt.Sprintf("from %s's pods to %s's pods, port %d: refused", caller.name, callee.name, callee.internal)},
		"a module that does not call": {func(t *testing.T, ps []networkPolicy) []networkPolicy {
			r := internalRule(t, ps, callee)
			r.From = append(r.From, componentSelector(stranger))
			return ps
		}, fmt.Sprintf("from %s's pods to %s's pods, port %d: admitted", stranger.name, callee.name, callee.internal)},
		"a selector too wide": {func(t *testing.T, ps []networkPolicy) []networkPolicy {
			r := internalRule(t, ps, callee)
			r.From = append(r.From, policyPeer{PodSelector: &labelSelector{MatchLabels: map[string]string{nameLabel: appName}}})
			return ps
		}, fmt.Sprintf("from the migrate Job's pods to %s's pods, port %d: admitted", callee.name, callee.internal)},
		"every port": {func(t *testing.T, ps []networkPolicy) []networkPolicy {
			internalRule(t, ps, callee).Ports = nil
			return ps
		}, fmt.Sprintf("from an operator's pod to %s's pods, port 5432: admitted", callee.name)},
		"no default deny": {func(t *testing.T, ps []networkPolicy) []networkPolicy {
			return slices.DeleteFunc(ps, func(p networkPolicy) bool { return p.Spec.PodSelector.MatchLabels[componentLabel] == "" })
		}, "from the outside to the migrate Job's pods, port 1: admitted"},
		"a module without its policy": {func(t *testing.T, ps []networkPolicy) []networkPolicy {
			return slices.DeleteFunc(ps, func(p networkPolicy) bool { return p.Spec.PodSelector.MatchLabels[componentLabel] == callee.name })
		}, fmt.Sprintf("from the outside to %s's pods, port %d: refused", callee.name, callee.port)},
		"the operator label misspelt": {func(t *testing.T, ps []networkPolicy) []networkPolicy {
			r := internalRule(t, ps, callee)
			for _, p := range r.From {
				if v, ok := p.PodSelector.MatchLabels[operatorLabel]; ok && p.PodSelector != nil {
					p.PodSelector.MatchLabels = map[string]string{"uberservice.io/operators": v}
				}
			}
			return ps
		}, fmt.Sprintf("from an operator's pod to %s's pods, port %d: refused", callee.name, callee.internal)},
		"a source it cannot judge": {func(t *testing.T, ps []networkPolicy) []networkPolicy {
			r := internalRule(t, ps, callee)
			r.From = append(r.From, policyPeer{NamespaceSelector: &labelSelector{}})
			return ps
		}, "namespaceSelector is not modelled"},
		"egress restricted": {func(t *testing.T, ps []networkPolicy) []networkPolicy {
			ps[0].Spec.PolicyTypes = append(ps[0].Spec.PolicyTypes, "Egress")
			return ps
		}, "restricts egress"},
	} {
		t.Run(name, func(t *testing.T) {
			// A fresh copy of the base's policies each time, to break.
			policies := tc.breakIt(t, loadKustomization(t, baseDir).policies)
			got := breaches(policies, ps, ports)
			if !slices.ContainsFunc(got, func(b string) bool { return strings.Contains(b, tc.want) }) {
				t.Errorf("breaches:\n\t%s\nwant one that says %q", strings.Join(got, "\n\t"), tc.want)
			}
		})
	}
}

func must[T any](v T, ok bool) T {
	if !ok {
		panic("must: not found")
	}
	return v
}

// deploy/compose.yaml: a module's internal API is on the compose network
// alone. No service publishes an internal port on the host, a module's service
// publishes its public port and nothing else, and the peers name internal
// ports (TestComposeRunsEveryModule checks each against the service it names).
func TestComposeKeepsInternalPortsOffTheHost(t *testing.T) {
	c := loadCompose(t)
	internal := map[int]string{}
	for _, m := range modules {
		internal[m.internal] = m.name
	}
	for _, name := range slices.Sorted(maps.Keys(c.Services)) {
		svc := c.Services[name]
		m, isModule := moduleNamed(name)
		for _, spec := range svc.Ports {
			host, container, err := publishedPorts(spec)
			if err != nil {
				t.Errorf("%s: ports %q: %v", name, spec, err)
				continue
			}
			for _, p := range slices.Compact(slices.Sorted(slices.Values(slices.Concat(host, container)))) {
				if owner, ok := internal[p]; ok {
					t.Errorf("%s: ports %q publishes %d, module %s's internal port, on the host", name, spec, p, owner)
				}
			}
			if isModule && (!slices.Equal(container, []int{m.port}) || !slices.Equal(host, []int{m.port})) {
				t.Errorf("%s: ports %q: want the module's public port %d alone, as %d", name, spec, m.port, m.port)
			}
		}
		if isModule {
			for peer, u := range pairs(t, name+": UBERSERVICE_PEERS", svc.Environment["UBERSERVICE_PEERS"]) {
				if p, ok := moduleNamed(peer); ok {
					if _, port := peerURL(t, name, u); port != p.internal {
						t.Errorf("%s: peer %s=%s: want %s's internal port %d", name, peer, u, peer, p.internal)
					}
				}
			}
		}
	}
}

// publishedPorts reads a port of Compose's short syntax,
// [[IP:](HOST|RANGE):](CONTAINER|RANGE)[/PROTOCOL], into the host ports it
// publishes (none: a random one) and the container ports it publishes them for.
func publishedPorts(spec string) (host, container []int, err error) {
	spec, _, _ = strings.Cut(spec, "/")
	if i := strings.LastIndex(spec, "]"); i >= 0 { // an IPv6 address
		spec = strings.TrimPrefix(spec[i+1:], ":")
	}
	parts := strings.Split(spec, ":")
	if len(parts) > 3 {
		return nil, nil, fmt.Errorf("want [[IP:]HOST:]CONTAINER")
	}
	if container, err = portRange(parts[len(parts)-1]); err != nil {
		return nil, nil, err
	}
	if len(parts) >= 2 && parts[len(parts)-2] != "" {
		if host, err = portRange(parts[len(parts)-2]); err != nil {
			return nil, nil, err
		}
	}
	return host, container, nil
}

// portRange reads "8080" or "8080-8084".
func portRange(s string) ([]int, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	var a, b int
	if _, err := fmt.Sscan(lo, &a); err != nil {
		return nil, fmt.Errorf("port %q", s)
	}
	b = a
	if isRange {
		if _, err := fmt.Sscan(hi, &b); err != nil || b < a {
			return nil, fmt.Errorf("port range %q", s)
		}
	}
	var out []int
	for p := a; p <= b; p++ {
		out = append(out, p)
	}
	return out, nil
}

func TestPublishedPorts(t *testing.T) {
	for spec, want := range map[string][2][]int{
		"127.0.0.1:8081:8081":       {{8081}, {8081}},
		"8081:9081/tcp":             {{8081}, {9081}},
		"9081":                      {nil, {9081}},
		"[::1]:8080-8081:9080-9081": {{8080, 8081}, {9080, 9081}},
		"127.0.0.1::9081":           {nil, {9081}},
	} {
		host, container, err := publishedPorts(spec)
		if err != nil || !slices.Equal(host, want[0]) || !slices.Equal(container, want[1]) {
			t.Errorf("publishedPorts(%q) = %v, %v, %v; want %v, %v", spec, host, container, err, want[0], want[1])
		}
	}
}
