// Package load drives HTTP load with vegeta, used as a library: a closed loop
// of N workers (vegeta's max-rate mode, each worker sending its next request
// when its last one is answered) or an open loop at a constant rate.
package load

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Options say how hard and how long to hit.
type Options struct {
	// Workers > 0 runs a closed loop of exactly that many workers, as fast as
	// they are answered (pgbench -c N is the same shape).
	Workers int
	// Rate > 0 (with Workers 0) sends that many requests per second, whatever
	// the answers take.
	Rate int
	// Duration of the attack.
	Duration time.Duration
	// Check, when set, inspects every answered request; an error makes the
	// request count as failed (an order answered 201 but not paid, say).
	Check func(*vegeta.Result) error
	// Name labels the attack.
	Name string
}

// Summary is what an attack measured. Latencies are vegeta's, over every
// request.
type Summary struct {
	Name        string         `json:"name"`
	Workers     int            `json:"workers,omitempty"`
	Rate        int            `json:"rate,omitempty"`
	Requests    uint64         `json:"requests"`
	OK          uint64         `json:"ok"`
	Failed      uint64         `json:"failed"`
	Errors      []string       `json:"errors,omitempty"` // distinct errors, at most 10
	StatusCodes map[string]int `json:"status_codes"`
	// Seconds is from the first request sent to the last answer received.
	Seconds float64 `json:"seconds"`
	// Throughput is OK requests per second over Seconds.
	Throughput float64       `json:"throughput"`
	Mean       time.Duration `json:"mean_ns"`
	P50        time.Duration `json:"p50_ns"`
	P90        time.Duration `json:"p90_ns"`
	P99        time.Duration `json:"p99_ns"`
	Max        time.Duration `json:"max_ns"`
	Started    time.Time     `json:"started"`
	Ended      time.Time     `json:"ended"`
}

// Err is the attack's failure: any failed request, or none at all.
func (s Summary) Err() error {
	switch {
	case s.Requests == 0:
		return fmt.Errorf("%s: no request was sent", s.Name)
	case s.Failed > 0:
		return fmt.Errorf("%s: %d of %d requests failed: %v", s.Name, s.Failed, s.Requests, s.Errors)
	}
	return nil
}

// Run attacks whatever targeter yields, as opts say, until the duration is
// over or ctx ends.
func Run(ctx context.Context, targeter vegeta.Targeter, opts Options) Summary {
	// A client of our own, so that its idle connections can be closed when
	// the attack is over: a connection dialed but never used would hold up
	// a server's graceful shutdown by 5s.
	transport := &http.Transport{
		DialContext:         (&net.Dialer{KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: max(opts.Workers, 1024),
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: transport}
	defer client.CloseIdleConnections()
	atkOpts := []func(*vegeta.Attacker){vegeta.Client(client), vegeta.MaxBody(64 << 10)}
	pacer := vegeta.Pacer(vegeta.ConstantPacer{}) // zero: as fast as the workers go
	switch {
	case opts.Workers > 0:
		n := uint64(opts.Workers)
		atkOpts = append(atkOpts, vegeta.Workers(n), vegeta.MaxWorkers(n))
	case opts.Rate > 0:
		pacer = vegeta.ConstantPacer{Freq: opts.Rate, Per: time.Second}
		atkOpts = append(atkOpts, vegeta.Workers(8))
	default:
		return Summary{Name: opts.Name, Errors: []string{"neither workers nor rate given"}}
	}
	atk := vegeta.NewAttacker(atkOpts...)
	stop := context.AfterFunc(ctx, func() { atk.Stop() })
	defer stop()

	var m vegeta.Metrics
	var failed uint64
	for res := range atk.Attack(targeter, pacer, opts.Duration, opts.Name) {
		if res.Error == "" && opts.Check != nil {
			if err := opts.Check(res); err != nil {
				res.Error = err.Error()
			}
		}
		if res.Error != "" {
			failed++
		}
		res.Body = nil
		m.Add(res)
	}
	m.Close()
	s := Summary{
		Name: opts.Name, Workers: opts.Workers, Rate: opts.Rate,
		Requests: m.Requests, Failed: failed, OK: m.Requests - failed,
		StatusCodes: m.StatusCodes,
		Mean:        m.Latencies.Mean, P50: m.Latencies.P50, P90: m.Latencies.P90,
		P99: m.Latencies.P99, Max: m.Latencies.Max,
		Started: m.Earliest, Ended: m.End,
	}
	errs := m.Errors
	sort.Strings(errs)
	if len(errs) > 10 {
		errs = errs[:10]
	}
	s.Errors = errs
	if d := m.End.Sub(m.Earliest); d > 0 {
		s.Seconds = d.Seconds()
		s.Throughput = float64(s.OK) / s.Seconds
	}
	return s
}

// Request is a vegeta target: method, URL, optional JSON body.
func Request(method, url string, body []byte) vegeta.Target {
	t := vegeta.Target{Method: method, URL: url, Body: body}
	if body != nil {
		t.Header = http.Header{"Content-Type": []string{"application/json"}}
	}
	return t
}

// Targets yields next() for every request; next must be safe for concurrent
// use.
func Targets(next func() vegeta.Target) vegeta.Targeter {
	return func(t *vegeta.Target) error {
		if t == nil {
			return vegeta.ErrNilTarget
		}
		*t = next()
		return nil
	}
}
