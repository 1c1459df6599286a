package deploy

import (
	"fmt"
	"slices"
	"strings"
)

// OperatorLabel is the pod label that, set to "true", admits a pod to every
// module's internal port on Kubernetes, for the ops routes: an operator's
// tool, a job that watches /ops/counts.
const OperatorLabel = "uberservice.io/operator"

// Kubernetes renders the kustomize base, k8s/base (a Deployment and a Service
// per module, the NetworkPolicies that say who reaches which of their ports,
// and the kustomization that lists them and generates the ConfigMap they
// share), k8s/migrate, a Job that migrates as a pipeline step of its own, and
// the examples of the Secrets the base reads, with placeholders, which say how
// to make them: k8s/database-secret.example.yaml, k8s/module-secrets.example.yaml
// and k8s/keys-secrets.example.yaml.
//
// Each module's container takes its credentials from a Secret of its own,
// ModuleSecret(module): its own database role's URL and its own broker user's,
// whose permissions are its declarations (Brokers), so that a module's process
// can touch no other module's schema nor carry other events than it declares.
// The administrative credentials, AdminSecret, are read by `uberservice
// migrate` alone: the init containers and the Job.
//
// Each module's pods mount a Secret of their own, KeySecret(module), at
// KeysDir: the module's private key and every public key, so that a module
// holds no other module's private key and cannot call in its name. The base
// holds none of these Secrets: keys are made where the cluster is run
// (`uberservice keys generate`), and so are passwords, never committed.
//
// The NetworkPolicies are the modules' declarations made into a firewall: a
// module's internal port admits only the pods of the modules that declare
// Uses of its gateway, and operators' pods (OperatorLabel); its public port
// admits any source; all other ingress to an uberservice pod is denied. They
// live in a file of their own rather than in each module's manifest because
// they are the call graph: a module added changes the policy of every module
// it calls, and of nothing else.
func Kubernetes(modules []Module) ([]File, error) {
	if err := validate(modules); err != nil {
		return nil, err
	}
	service := func(m Module) string { return fmt.Sprintf("http://uberservice-%s:%d", m.Name, m.InternalPort) }
	type manifest struct {
		Module
		Comment string
		Service string // the URL other modules reach it at
		// Callers are the modules its internal port admits, and Admits says
		// so for a reader.
		Callers []string
		Admits  string
		// Credentials says what its container reads from its Secret.
		Credentials string
	}
	var (
		files     []File
		manifests []manifest
		all       []string // UBERSERVICE_PEERS: every module, at its Service
	)
	for _, m := range modules {
		c := summary(m)
		if !m.Database {
			c += " It keeps no data, but its migrate init container, like every module's, migrates every schema and creates every consumer group."
		}
		var names []string
		for _, caller := range callers(modules, m) {
			names = append(names, caller.Name)
		}
		admits := fmt.Sprintf("%s: no module uses its gateway; its internal port %d admits operators alone.", m.Name, m.InternalPort)
		switch len(names) {
		case 0:
		case 1:
			admits = fmt.Sprintf("%s: its internal port %d admits %s, which %s, and operators.", m.Name, m.InternalPort, names[0], why(modules, names))
		default:
			admits = fmt.Sprintf("%s: its internal port %d admits %s, which %s, and operators.", m.Name, m.InternalPort, and(names), why(modules, names))
		}
		holds := "UBERSERVICE_BUS, the broker as its own user, whose permissions are its declared topics"
		if m.Database {
			holds = databaseURLEnv(m.Name) + ", the URL of its own database role, and " + holds
		}
		credentials := fmt.Sprintf("Its own credentials alone, from a Secret of its own that you create (see ../module-secrets.example.yaml; until it exists the container waits in CreateContainerConfigError): %s. Not %s, the administrative Secret, which the init container alone reads.", holds, AdminSecret)
		manifests = append(manifests, manifest{Module: m, Comment: c, Service: service(m), Callers: names, Admits: admits, Credentials: credentials})
		all = append(all, m.Name+"="+service(m))
	}
	for _, m := range manifests {
		f, err := render("k8s/base/"+m.Name+".yaml", "module.yaml.tmpl", m)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	for _, r := range []struct {
		path, template string
		data           any
	}{
		{"k8s/base/network-policies.yaml", "network-policies.yaml.tmpl", struct {
			Manifests     []manifest
			OperatorLabel string
		}{manifests, OperatorLabel}},
		{"k8s/base/kustomization.yaml", "kustomization.yaml.tmpl", struct {
			Manifests []manifest
			Peers     string
		}{manifests, strings.Join(all, ",")}},
		{"k8s/migrate/job.yaml", "job.yaml.tmpl", nil},
		{"k8s/migrate/kustomization.yaml", "migrate-kustomization.yaml.tmpl", nil},
		{"k8s/database-secret.example.yaml", "database-secret.example.yaml.tmpl", credentials(modules)},
		{"k8s/module-secrets.example.yaml", "module-secrets.example.yaml.tmpl", credentials(modules)},
		{"k8s/keys-secrets.example.yaml", "keys-secrets.example.yaml.tmpl", keySecrets(modules)},
	} {
		f, err := render(r.path, r.template, r.data)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// credentials are what k8s/database-secret.example.yaml and
// k8s/module-secrets.example.yaml show, with placeholders: the broker as its
// administrator, and each module's URLs, of its own database role (if it
// keeps data) and of the broker as its own user.
func credentials(modules []Module) any {
	const password = "CHANGE-ME"
	type module struct {
		Name                     string
		Secret                   string
		DatabaseEnv, DatabaseURL string // empty if it keeps no data
		Bus                      string
	}
	data := struct {
		AdminUser, AdminNATSEnv, AdminBus string
		Modules                           []module
	}{AdminUser: BrokerAdmin, AdminNATSEnv: NATSPasswordEnv(""), AdminBus: natsURL(BrokerAdmin, password)}
	for _, m := range modules {
		mod := module{Name: m.Name, Secret: ModuleSecret(m.Name), Bus: natsURL(m.Name, password)}
		if m.Database {
			mod.DatabaseEnv = databaseURLEnv(m.Name)
			mod.DatabaseURL = "postgres://uberservice_" + m.Name + ":" + password + "@postgres.example.invalid:5432/uberservice?sslmode=require"
		}
		data.Modules = append(data.Modules, mod)
	}
	return data
}

// keySecrets is what k8s/keys-secrets.example.yaml shows: a Secret per
// module, holding its own private key and every public key, the operators'
// last.
func keySecrets(modules []Module) any {
	type secret struct{ Module string }
	data := struct {
		Operator string
		Modules  []string
		Public   []string // the names of every public key, NAME.pub
		Secrets  []secret
	}{Operator: OperatorKey}
	for _, m := range modules {
		data.Modules = append(data.Modules, m.Name)
		data.Secrets = append(data.Secrets, secret{m.Name})
	}
	data.Public = append(slices.Clone(data.Modules), OperatorKey)
	return data
}

// why says what admits the modules named on an internal port: their use of
// its gateway, observing every module, or both among them.
func why(modules []Module, names []string) string {
	var uses, observes bool
	for _, n := range names {
		if c, ok := find(modules, n); ok && c.Observes {
			observes = true
		} else {
			uses = true
		}
	}
	verb := func(one, many string) string {
		if len(names) == 1 {
			return one
		}
		return many
	}
	switch {
	case uses && observes:
		return "use its gateway or observe every module"
	case observes:
		return verb("observes every module", "observe every module")
	}
	return verb("uses its gateway", "use its gateway")
}
