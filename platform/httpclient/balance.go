package httpclient

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// # Several endpoints
//
// A peer given several endpoints (NewPeer) is one peer to its callers: each
// call goes to one endpoint, chosen by smooth weighted round robin among those
// whose breaker is not open and whose readiness probe (Probe) last passed. An
// endpoint whose probe fails gets calls only when none passes; an endpoint
// whose breaker is open gets none until its cool-down is over and a probe call
// closes it again. When every breaker is open the call fails at once,
// problem.ErrUnavailable and ErrCircuitOpen, as with one endpoint.
//
// A call safe to send again that an endpoint failed (unreachable, 5xx, an
// answer that is not the contract's) is sent to another endpoint, each
// endpoint once: a caller does not see an instance's failure while another
// instance serves. Each endpoint counts its own failures, so a misbehaving
// instance is ejected while the others go on. With several endpoints an
// endpoint gets one attempt per call: the next attempt is another endpoint's.

// balanced makes the call on the endpoints pick chooses, moving on to another
// after a failure when the call is safe to send again.
func (c *Client) balanced(ctx context.Context, method, path string, body []byte, out any, attempts int) error {
	safe := attempts > 1
	perEndpoint := attempts
	if len(c.endpoints) > 1 {
		perEndpoint = 1
	}
	tried := map[*endpoint]bool{}
	var last error
	for {
		e := c.pick(tried, nil)
		if e == nil {
			if last != nil {
				return last
			}
			where := c.endpoints[0].URL + path
			if len(c.endpoints) > 1 {
				where = path + " on every endpoint"
			}
			return circuitOpen(method, where, nil)
		}
		tried[e] = true
		err, ran := c.on(ctx, e, method, path, body, out, perEndpoint)
		switch {
		case !ran: // refused by a half-open breaker: another endpoint may take it
			if last == nil {
				last = err
			}
			continue
		case err == nil || !safe || !peerFailed(err) || ctx.Err() != nil:
			return err
		}
		last = err
	}
}

// ProbeInterval is how often Probe asks each endpoint whether it is ready.
const ProbeInterval = 2 * time.Second

// Probe asks each endpoint of a peer of several, every interval until ctx
// ends, whether it is ready (GET <endpoint>/readyz answers 2xx), and sends
// calls to the ready ones first. A peer of one endpoint needs no probe: its
// calls have nowhere else to go.
func (c *Client) Probe(ctx context.Context, interval time.Duration) {
	if len(c.endpoints) < 2 {
		return
	}
	if interval <= 0 {
		interval = ProbeInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for _, e := range c.endpoints {
			ready := c.ready(ctx, e, interval)
			if ctx.Err() != nil {
				return
			}
			if was := e.ready.Swap(ready); was != ready {
				c.opts.Log.Info("endpoint readiness changed", "peer", e.URL, "ready", ready)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// ready asks e's /readyz, waiting at most timeout.
func (c *Client) ready(ctx context.Context, e *endpoint, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode < 300
}

// hostPort is the host:port of rawURL, the endpoint's label in the metrics.
func hostPort(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return rawURL
	}
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		return u.Host + ":" + port
	}
	return u.Host
}
