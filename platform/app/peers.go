package app

import (
	"context"

	"strings"

	"github.com/uberservice/uberservice/platform/httpclient"
)

// # Several endpoints behind one peer
//
// --peer MODULE=URL names where a module runs elsewhere; a module running as
// several instances (two versions side by side, a canary) has several
// endpoints, each URL followed by ;weight=N (its share of the calls, default
// 1) and ;version=V (what it runs, for hedged calls), given either by
// repeating --peer for the module or by a comma-separated list after one
// MODULE=, where an entry that starts with http:// or https:// belongs to the
// module before it:
//
//	--peer 'im=http://im-a:9082;weight=90' --peer 'im=http://im-b:9082;weight=10;version=2'
//	--peer 'im=http://im-a:9082;weight=90,http://im-b:9082;weight=10;version=2'
//	UBERSERVICE_PEERS='accounts=http://acc:9081,im=http://im-a:9082;weight=90,http://im-b:9082;weight=10'
//
// Config.Peers keeps a module's endpoints as one such list
// (httpclient.ParseEndpoints reads it), so that a single URL is what it was.

// peerSpecs reads --peer into module -> its endpoints, checked.
func (m multiFlag) peerSpecs(modules map[string]bool) (map[string]string, error) {
	var joined multiFlag
	last := -1
	for _, kv := range m {
		if last >= 0 && (strings.HasPrefix(kv, "http://") || strings.HasPrefix(kv, "https://")) {
			joined[last] += "," + kv // another endpoint of the module before
			continue
		}
		joined = append(joined, kv)
		last = len(joined) - 1
	}
	byEntry, err := joined.pairsEach("--peer", modules)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range byEntry {
		if prev := out[e.k]; prev != "" {
			e.v = prev + "," + e.v // --peer repeated for the module: one more endpoint
		}
		out[e.k] = e.v
	}
	for k, spec := range out {
		if _, err := httpclient.ParseEndpoints(spec); err != nil {
			return nil, usagef("--peer %s=%s: %v", k, spec, err)
		}
	}
	return out, nil
}

type pair struct{ k, v string }

// pairsEach is pairs keeping every entry, a module named twice included.
func (m multiFlag) pairsEach(flagName string, modules map[string]bool) ([]pair, error) {
	var out []pair
	for _, kv := range m {
		one, err := multiFlag{kv}.pairs(flagName, modules)
		if err != nil {
			return nil, err
		}
		for k, v := range one {
			out = append(out, pair{k, v})
		}
	}
	return out, nil
}

// peerClient is the HTTP client of the peer whose endpoints spec lists; a
// peer of several is probed for readiness for as long as the system runs.
func (e *Env) peerClient(spec string, opts httpclient.Options) (*httpclient.Client, error) {
	eps, err := httpclient.ParseEndpoints(spec)
	if err != nil {
		return nil, usagef("--peer %s", err)
	}
	c := httpclient.NewPeer(eps, opts)
	if len(eps) > 1 {
		// Background work: started with the workers, cancelled and waited
		// for at Stop; endpoints start out ready until the first probe.
		e.Background(func(ctx context.Context) { c.Probe(ctx, httpclient.ProbeInterval) })
	}
	return c, nil
}
