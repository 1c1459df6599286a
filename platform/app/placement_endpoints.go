package app

import "github.com/uberservice/uberservice/platform/httpclient"

// Endpoint is one instance of a module as a Placement lists it: its URL, its
// share of the calls (Weight) and the version label --peer gives it ("" when
// none). A module behind one peer may run as several instances, a canary
// beside the stable one, and an operator's view must see each of them, not
// only the first.
type Endpoint = httpclient.Endpoint

// peerEndpoints are the endpoints a --peer spec lists. The spec was checked
// when the flags were read; one that does not parse (a Config built by hand)
// is taken as a single URL, as before there could be several.
func peerEndpoints(spec string) []Endpoint {
	if eps, err := httpclient.ParseEndpoints(spec); err == nil && len(eps) > 0 {
		return eps
	}
	return []Endpoint{{URL: spec, Weight: 1}}
}
