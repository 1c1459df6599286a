package httpclient

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/sony/gobreaker/v2"
)

// Endpoint is one instance of a peer: its base URL, its share of the calls
// and, optionally, the version it runs.
type Endpoint struct {
	URL string
	// Weight is the endpoint's share of the calls, relative to the other
	// endpoints' (90 and 10 send nine calls in ten to the first); default 1.
	Weight int
	// Version labels what the endpoint runs ("2", say): a hedged call sends
	// its second request to another version when there is one.
	Version string
}

// ParseEndpoints reads a peer's endpoints as --peer writes them: endpoints
// separated by commas, each a URL followed by ;weight=N and ;version=V in any
// order, both optional:
//
//	http://im-a:9082;weight=90,http://im-b:9082;weight=10;version=2
//
// A single URL is a peer of one endpoint.
func ParseEndpoints(spec string) ([]Endpoint, error) {
	var out []Endpoint
	seen := map[string]bool{}
	for _, part := range strings.Split(spec, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		fields := strings.Split(part, ";")
		ep := Endpoint{URL: strings.TrimRight(strings.TrimSpace(fields[0]), "/"), Weight: 1}
		u, err := url.Parse(ep.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("endpoint %q: want an http:// or https:// URL", fields[0])
		}
		if seen[ep.URL] {
			return nil, fmt.Errorf("endpoint %s is given twice", ep.URL)
		}
		seen[ep.URL] = true
		for _, f := range fields[1:] {
			k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
			switch k {
			case "weight":
				w, err := strconv.Atoi(v)
				if err != nil || w < 1 || w > 1_000_000 {
					return nil, fmt.Errorf("endpoint %s: weight %q: want a whole number from 1 to 1000000", ep.URL, v)
				}
				ep.Weight = w
			case "version":
				if v == "" {
					return nil, fmt.Errorf("endpoint %s: version is empty", ep.URL)
				}
				ep.Version = v
			default:
				return nil, fmt.Errorf("endpoint %s: unknown option %q: want weight=N or version=V", ep.URL, f)
			}
		}
		out = append(out, ep)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no endpoint in %q", spec)
	}
	return out, nil
}

// endpoint is an Endpoint as a client reaches it: its own breaker, what its
// readiness probe last said, and its place in the weighted round robin.
type endpoint struct {
	Endpoint
	label   string                              // host:port, the metrics' label
	breaker *gobreaker.CircuitBreaker[struct{}] // nil when disabled
	ready   atomic.Bool
	current int // smooth weighted round robin's running weight, under Client.mu
}

// open reports whether the endpoint's breaker refuses calls now. State turns
// an open breaker half-open once its cool-down is over.
func (e *endpoint) open() bool { return e.state() == gobreaker.StateOpen }

// state is the endpoint's breaker's state; closed when it has none.
func (e *endpoint) state() gobreaker.State {
	if e.breaker == nil {
		return gobreaker.StateClosed
	}
	return e.breaker.State()
}

// pick chooses the endpoint of the next call by smooth weighted round robin
// (nginx's: over any stretch of calls, each endpoint gets its weight's share,
// interleaved rather than in bursts), among the endpoints that are not in
// skip and whose breaker is not open, the ready ones first: a not-ready
// endpoint gets calls only when no other can. prefer, when not nil, ranks
// the endpoints it accepts first (a hedge's other version). It returns nil
// when every endpoint is skipped or open.
func (c *Client) pick(skip map[*endpoint]bool, prefer func(*endpoint) bool) *endpoint {
	var notReady, ready, preferred []*endpoint
	for _, e := range c.endpoints {
		switch {
		case skip[e], e.open():
		case !e.ready.Load():
			notReady = append(notReady, e)
		default:
			ready = append(ready, e)
			if prefer != nil && prefer(e) {
				preferred = append(preferred, e)
			}
		}
	}
	candidates := ready
	switch {
	case len(preferred) > 0:
		candidates = preferred
	case len(ready) == 0:
		candidates = notReady
	}
	if len(candidates) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var best *endpoint
	total := 0
	for _, e := range candidates {
		e.current += e.Weight
		total += e.Weight
		if best == nil || e.current > best.current {
			best = e
		}
	}
	best.current -= total
	return best
}
