package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/uberservice/uberservice/bench/internal/stats"
	"github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/platform/httpclient"
)

// slowEndpointDelay is what the delaying proxy in front of the second
// endpoint adds to every request: an instance that is up but lagging.
const slowEndpointDelay = 150 * time.Millisecond

type racingRun struct {
	Mode        string  `json:"mode"`
	Calls       int     `json:"calls"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	SlowReached int     `json:"requests_reaching_the_slow_endpoint"`
}

// racing: accounts' Get, which its table declares hedged (after 50ms), over
// a peer of two endpoints of equal weight, the real accounts and the same
// behind a proxy that delays every request; once hedged, once sent as a
// plain call of the same route.
func racing(e *env) (s *scenario, err error) {
	s = &scenario{ID: "racing", Title: "7. Racing a slow endpoint"}
	c, err := e.start(e.oneProcess())
	if err != nil {
		return s, err
	}
	defer e.stop(c, &err)
	s.Commands = []string{e.commands(c)}
	p, err := peopleOf(c)
	if err != nil {
		return s, err
	}
	ids, err := openAccounts(e.ctx, p, c.URL("accounts"), 10, "")
	if err != nil {
		return s, err
	}
	fast := c.InternalURL("accounts")
	target, err := url.Parse(fast)
	if err != nil {
		return s, err
	}
	var slowMu sync.Mutex
	slowReached := 0
	proxy := httputil.NewSingleHostReverseProxy(target)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowMu.Lock()
		slowReached++
		slowMu.Unlock()
		select {
		case <-time.After(slowEndpointDelay):
			proxy.ServeHTTP(w, r)
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	auth, err := c.As("portal", accounts.Name)
	if err != nil {
		return s, err
	}
	token := strings.TrimPrefix(auth[1], "Bearer ")
	peer := httpclient.NewPeer([]httpclient.Endpoint{{URL: fast}, {URL: slow.URL, Version: "slow"}}, httpclient.Options{
		Credentials: func() (string, error) { return token, nil }, Log: slog.New(slog.DiscardHandler),
	})
	gw := accounts.Gateway.Client(peer)
	calls := max(20, 2*e.p.GatewayAccounts)
	modes := []struct {
		name string
		get  func(ctx context.Context, id string) error
	}{
		{"not hedged", func(ctx context.Context, id string) error {
			var a accounts.Account
			return peer.Call(ctx, http.MethodGet, "/gateway/accounts/v1/accounts/"+id, nil, &a, false)
		}},
		{"hedged after 50ms", func(ctx context.Context, id string) error {
			_, err := gw.Get(ctx, uuid.MustParse(id))
			return err
		}},
	}
	var runs []racingRun
	t := table{Header: []string{"accounts.Get", "calls", "p50", "p99", "max", "requests reaching the slow endpoint"}}
	for _, m := range modes {
		slowMu.Lock()
		slowReached = 0
		slowMu.Unlock()
		lat := make([]float64, calls)
		g, gctx := errgroup.WithContext(e.ctx)
		g.SetLimit(8)
		for i := range calls {
			g.Go(func() error {
				start := time.Now()
				if err := m.get(gctx, ids[i%len(ids)]); err != nil {
					return fmt.Errorf("%s: %w", m.name, err)
				}
				lat[i] = ms(time.Since(start))
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return s, err
		}
		slowMu.Lock()
		r := racingRun{Mode: m.name, Calls: calls, P50ms: stats.Percentile(lat, 50), P99ms: stats.Percentile(lat, 99), MaxMs: stats.Max(lat), SlowReached: slowReached}
		slowMu.Unlock()
		runs = append(runs, r)
		t.Rows = append(t.Rows, []string{r.Mode, fmt.Sprint(r.Calls), num(r.P50ms) + " ms", num(r.P99ms) + " ms", num(r.MaxMs) + " ms", fmt.Sprint(r.SlowReached)})
	}
	s.Raw = runs
	s.Tables = []table{t}
	s.Method = fmt.Sprintf("accounts' gateway `Get` (`GET /gateway/accounts/v1/accounts/{id}`), %d calls, 8 at a time, from the "+
		"harness's own gateway client (package httpclient, as a module's) to a peer of two endpoints of equal weight: the real "+
		"accounts, and the same behind a proxy in the harness that delays every request by %s. **not hedged** sends the call to the "+
		"endpoint the weighted round robin picks, so every other call waits for the slow one; **hedged** is the call as the table "+
		"declares it (`.Hedged(50ms)`): a call unanswered after 50ms goes to the other endpoint too, the first answer wins and the "+
		"other request is cancelled. One run; figures are reported, not asserted.", calls, slowEndpointDelay)
	s.Headline = fmt.Sprintf("p99 of Get with one endpoint %s slow: %s ms not hedged, %s ms hedged",
		slowEndpointDelay, num(runs[0].P99ms), num(runs[1].P99ms))
	return s, nil
}
