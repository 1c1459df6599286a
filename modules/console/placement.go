package console

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/uberservice/uberservice/platform/app"
)

// lookTimeout bounds what the console asks of one module for one page: a
// module that does not answer in time is shown down, and the page is not
// held up by it.
const lookTimeout = 2 * time.Second

// moduleView is a module as the dashboard shows it.
type moduleView struct {
	app.Placement
	Where   string // here, peer or unknown
	Address string // host:port of its internal API, "" when unknown
	Ready   string // ready, down or unknown
	Detail  string // why it is not ready, when it says
	Process string // a name shared by the modules of one process; "" when unknown
	Metrics bool   // its /metrics answered
	Stats   stats
	// Instances is how many instances the module has, this view one of
	// them (its URL, Weight and Label, the --peer version label); a module
	// of one instance has 1 (instances.go).
	Instances int
	Weight    int
	Label     string
}

// look asks every module, at once, whether it is ready and what its metrics
// say, each within lookTimeout.
func (c *console) look(ctx context.Context, token string) []moduleView {
	views := instanceViews(c.placements())
	var wg sync.WaitGroup
	for i, p := range views {
		switch {
		case p.Here:
			views[i].Where = "here"
		case p.URL != "":
			views[i].Where = "peer"
		default:
			continue
		}
		if u, err := url.Parse(p.URL); err == nil {
			views[i].Address = u.Host
		}
		wg.Go(func() { c.lookAt(ctx, &views[i], token) })
	}
	wg.Wait()
	groupProcesses(views)
	return views
}

// lookAt fills v's readiness and stats.
func (c *console) lookAt(ctx context.Context, v *moduleView, token string) {
	ctx, cancel := context.WithTimeout(ctx, lookTimeout)
	defer cancel()
	status, body, err := c.get(ctx, v.URL+"/readyz", "")
	switch {
	case err != nil:
		v.Ready, v.Detail = "down", err.Error()
	case status == http.StatusOK:
		v.Ready = "ready"
	default:
		v.Ready, v.Detail = "down", fmt.Sprintf("readyz answered %d: %s", status, clip(string(body), 200))
	}
	status, body, err = c.get(ctx, v.URL+"/metrics", token)
	if err != nil || status != http.StatusOK {
		return
	}
	m, err := parseMetrics(strings.NewReader(string(body)))
	if err != nil {
		return
	}
	// Each instance's counters are its own: a rate is a difference between
	// two scrapes of one process.
	key := v.Name + " " + v.URL
	c.mu.Lock()
	prev, ok := c.prev[key]
	c.mu.Unlock()
	var p *counters
	if ok {
		p = &prev
	}
	st, cur := summarize(v.Name, m, p, c.now())
	c.mu.Lock()
	// Keep an earlier scrape for a while, so that two pages a moment apart
	// still show a rate over a useful interval.
	if !ok || cur.at.Sub(prev.at) >= minRateInterval || cur.requests < prev.requests {
		c.prev[key] = cur
	}
	c.mu.Unlock()
	v.Metrics, v.Stats = true, st
}

// minRateInterval is the shortest interval a rate is computed over.
const minRateInterval = 2 * time.Second

// groupProcesses names the processes the modules run in. The metrics of a
// process are the same on every module's port, so two modules whose scrapes
// carry one instance id (uberservice_build_info) run in one process; a
// module started here shares the console's. Without an instance id, a host
// and a process_start_time_seconds shared say so, less surely: two processes
// of one host started within the same hundredth of a second look alike.
func groupProcesses(views []moduleView) {
	names := map[string]string{}
	next := 'A'
	for i := range views {
		v := &views[i]
		var key string
		switch {
		case v.Here:
			key = "here"
		case v.Metrics && v.Stats.Instance != "":
			key = v.Stats.Instance
		case v.Metrics && v.Stats.StartTime > 0:
			host, _, _ := strings.Cut(v.Address, ":")
			key = fmt.Sprintf("%s@%.2f", host, v.Stats.StartTime)
		default:
			continue
		}
		if _, ok := names[key]; !ok {
			names[key] = string(next)
			next++
		}
		v.Process = names[key]
	}
}

// get GETs url with token as Bearer, when given, and returns the status and
// at most 4 MiB of the body.
func (c *console) get(ctx context.Context, url, token string) (int, []byte, error) {
	return c.do(ctx, http.MethodGet, url, token)
}

func (c *console) do(ctx context.Context, method, url, token string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 4<<20))
	if err != nil {
		return res.StatusCode, nil, fmt.Errorf("%s %s: read the answer: %w", method, url, err)
	}
	return res.StatusCode, body, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
