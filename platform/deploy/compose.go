package deploy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
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
	}
	var public, internal []int
	for _, m := range modules {
		public, internal = append(public, m.Port), append(internal, m.InternalPort)
	}
	data := struct {
		Ports, InternalPorts string
		Services             []service
	}{Ports: portRange(public), InternalPorts: portRange(internal)}
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
		}
		if m.Database {
			role := "uberservice_" + m.Name
			s.DatabaseEnv = "UBERSERVICE_DATABASE_URL_" + strings.ToUpper(m.Name)
			s.DatabaseURL = fmt.Sprintf("postgres://%s:%s@postgres:5432/uberservice?sslmode=disable", role, role)
		}
		data.Services = append(data.Services, s)
	}
	f, err := render("compose.yaml", "compose.yaml.tmpl", data)
	if err != nil {
		return nil, err
	}
	return []File{f}, nil
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
