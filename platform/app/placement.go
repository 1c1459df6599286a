package app

import "net"

// Placement is a module of the binary as it is declared (ModuleInfo) and
// where it runs now, as this process knows it: an operator's view, such as
// the console's, needs every module, not only those whose gateways it uses.
type Placement struct {
	ModuleInfo
	// Here says the module is started in this process.
	Here bool
	// URL is the base URL of the module's internal API (its ops routes,
	// /readyz and /metrics): this process's own listener for a module
	// started here, its --peer URL for one that runs elsewhere, and ""
	// when this process knows of no place where it runs. For a peer of
	// several endpoints it is the first's, as it was before there could be
	// more than one.
	URL string
	// Endpoints are every instance of the module this process knows of, URL
	// first (placement_endpoints.go); none when URL is "".
	Endpoints []Endpoint
}

// Placements lists every module of the binary, in the order of its
// declaration, with where it runs now. The listeners are bound before Init,
// so the addresses of the modules started here are known from Init on.
func (e *Env) Placements() []Placement {
	s := e.sys
	var out []Placement
	for _, info := range catalogue(s.all).Modules {
		p := Placement{ModuleInfo: info}
		if addr := s.InternalAddr(info.Name); addr != "" {
			p.Here, p.URL = true, "http://"+dialable(addr)
			p.Endpoints = []Endpoint{{URL: p.URL, Weight: 1}}
		} else if peer := s.cfg.Peers[info.Name]; peer != "" {
			p.Endpoints = peerEndpoints(peer)
			p.URL = p.Endpoints[0].URL
		}
		out = append(out, p)
	}
	return out
}

// dialable turns the address a listener is bound to into one a client of the
// same machine can dial: a wildcard host (":9081", "[::]:9081",
// "0.0.0.0:9081") becomes the loopback, 127.0.0.1:9081.
func dialable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// TraceUI is the base URL of the deployment's trace backend's query API
// (Jaeger's; Config.TraceUI, --trace-ui), or "" when none is configured.
func (e *Env) TraceUI() string { return e.sys.cfg.TraceUI }
