package deploy

import (
	"fmt"
	"slices"
	"strconv"
)

// Compose renders compose.yaml: Postgres, NATS with JetStream, a one-shot
// migrate, and a service per module, in the order of modules. The file builds
// its image from the Dockerfile in its parent folder, so it belongs in the
// deploy folder of the repository.
//
// A module's public port is published on the host's loopback; its internal
// port is not published at all, so that the gateways and the ops routes are
// reached from the compose network only, where the peers call them. Compose
// has nothing like a NetworkPolicy: on that network every container reaches
// every port.
//
// Every module's service mounts the key set the user generates into the keys
// folder beside the file, read-only, at KeysDir: the whole of it, every
// module's private key included, which is fine for the development stack this
// is and for nothing else. The Kubernetes manifests give each module its own
// private key alone.
//
// Each module connects to Postgres as its own role and to NATS as its own user,
// whose permissions are its declared topics: the nats service runs with the
// configuration Brokers renders, brokers/nats-server.conf beside the file, and
// sets the password of every user it names. migrate alone connects as the
// administrators of both. The passwords are demo passwords, written in the
// file (demoPassword).
func Compose(modules []Module) ([]File, error) {
	if err := validate(modules); err != nil {
		return nil, err
	}
	type service struct {
		Module
		Comment string
		Peers   string // UBERSERVICE_PEERS
		// DatabaseEnv and DatabaseURL are the module's own database URL:
		// its own role, whose password is the demo's (see the header).
		DatabaseEnv, DatabaseURL string
		// Bus is NATS as the module's own user, with the demo password.
		Bus string
	}
	// natsPassword is a variable of the nats service's environment: the
	// password of a user of brokers/nats-server.conf.
	type natsPassword struct{ Env, Password string }
	var public, internal []int
	for _, m := range modules {
		public, internal = append(public, m.Port), append(internal, m.InternalPort)
	}
	data := struct {
		Ports, InternalPorts string
		AdminBus             string // migrate's UBERSERVICE_BUS
		NATSPasswords        []natsPassword
		Services             []service
	}{
		Ports:         portRange(public),
		InternalPorts: portRange(internal),
		AdminBus:      natsURL(BrokerAdmin, demoPassword("")),
		NATSPasswords: []natsPassword{{NATSPasswordEnv(""), demoPassword("")}},
	}
	for _, m := range modules {
		c := summary(m)
		if !m.Database {
			c += " It keeps no data: it has no schema of its own."
		}
		s := service{
			Module:  m,
			Comment: c,
			Peers: peers(modules, m, func(p Module) string {
				return fmt.Sprintf("http://%s:%d", p.Name, p.InternalPort)
			}),
			Bus: natsURL(m.Name, demoPassword(m.Name)),
		}
		if m.Database {
			role := "uberservice_" + m.Name
			s.DatabaseEnv = databaseURLEnv(m.Name)
			s.DatabaseURL = fmt.Sprintf("postgres://%s:%s@postgres:5432/uberservice?sslmode=disable", role, demoPassword(m.Name))
		}
		data.Services = append(data.Services, s)
		data.NATSPasswords = append(data.NATSPasswords, natsPassword{NATSPasswordEnv(m.Name), demoPassword(m.Name)})
	}
	f, err := render("compose.yaml", "compose.yaml.tmpl", data)
	if err != nil {
		return nil, err
	}
	return []File{f}, nil
}

// demoPassword is the password compose.yaml gives module's database role and
// NATS user, or, for module "", the administrators' of both: the role's name,
// uberservice_MODULE, or uberservice. Anyone who reads the file knows them,
// which is fine for the development stack it is and for nothing else.
func demoPassword(module string) string {
	if module == "" {
		return "uberservice"
	}
	return "uberservice_" + module
}

// portRange names ports for a reader: "8080-8084" when they follow each
// other, else each of them.
func portRange(ports []int) string {
	ports = slices.Sorted(slices.Values(ports))
	lo, hi := ports[0], ports[len(ports)-1]
	if hi-lo == len(ports)-1 {
		if lo == hi {
			return strconv.Itoa(lo)
		}
		return fmt.Sprintf("%d-%d", lo, hi)
	}
	s := strconv.Itoa(lo)
	for _, p := range ports[1:] {
		s += ", " + strconv.Itoa(p)
	}
	return s
}
