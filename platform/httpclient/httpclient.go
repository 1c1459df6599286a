// Package httpclient is the transport under every gateway's HTTP client adapter:
// JSON in and out, the correlation id and the W3C trace context forwarded
// (each attempt a client span of its own when the call is traced),
// problem+json answers decoded back into the *problem.Problem the server
// returned (so errors.Is matches the gateway's sentinel errors), a timeout on
// every call, retries with backoff for idempotent calls only, and a circuit
// breaker per peer. A failure to reach the peer, and a call refused by an open
// breaker, is problem.ErrUnavailable; an answer that is not the contract's is
// ErrBadGateway (malformed.go).
//
// A peer may run as several endpoints (NewPeer): see balance.go for how calls
// are spread over them, and hedge.go for a call that races two.
//
// # Circuit breaker
//
// Each endpoint of each Client has its own breaker (github.com/sony/gobreaker/v2),
// so one peer, or one instance of it, that is down does not slow down the
// calls to the others. A call (all of its
// attempts together: a retried call that finally succeeds is one success)
// fails when the peer cannot be reached, does not answer within the timeout or
// the caller's deadline, or answers 5xx. Any other answer, 4xx problems such
// as insufficient_funds or not_found included, is a success: the peer is up
// and said no. A call the caller cancels counts as neither.
//
// After Options.FailureThreshold failed calls in a row (default 5) the breaker
// opens: for Options.Cooldown (default 5s) every call fails at once with an
// error that is problem.ErrUnavailable and ErrCircuitOpen, without touching the
// network, and a call still retrying stops. Then it is half-open: one call goes
// through as a probe (the others still fail fast); its success closes the
// breaker, its failure opens it for another cool-down.
package httpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sony/gobreaker/v2"
	"go.opentelemetry.io/otel/propagation"

	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/tracing"
)

// Options tune a client. Zero values mean the defaults.
type Options struct {
	Timeout time.Duration // per attempt; default 5s
	Retries int           // extra attempts for idempotent calls; default 2; negative for none
	Backoff time.Duration // before the first retry, doubling; default 50ms
	// FailureThreshold is how many calls in a row must fail before the circuit
	// breaker opens; default 5; negative for no breaker.
	FailureThreshold int
	// Cooldown is how long an open breaker fails calls fast before it lets a
	// probe through; default 5s.
	Cooldown  time.Duration
	Transport http.RoundTripper
	Log       *slog.Logger // the breaker's state changes; default slog.Default()
	// Credentials, when set, gives the bearer token every attempt carries:
	// the calling module's identity (package peerauth). A call whose token
	// cannot be had is not sent.
	Credentials func() (string, error)
	// Module and Gateway name the calling module and the gateway the client
	// reaches, for the metrics of its calls and its breaker (metrics.go);
	// with no Gateway, nothing is recorded.
	Module, Gateway string
}

// ErrCircuitOpen is (wrapped in problem.ErrUnavailable) the error of a call
// that the breaker refused without trying, because the peer failed repeatedly.
var ErrCircuitOpen = errors.New("circuit breaker open")

// Client calls one peer module, at one endpoint or several.
type Client struct {
	http      *http.Client
	opts      Options
	endpoints []*endpoint
	mu        sync.Mutex // the round robin's weights
}

// New returns a client for the peer at baseURL (such as http://accounts:8081).
func New(baseURL string, opts Options) *Client {
	return NewPeer([]Endpoint{{URL: baseURL, Weight: 1}}, opts)
}

// NewPeer returns a client for the peer that runs at endpoints (at least
// one), each with a breaker of its own.
func NewPeer(endpoints []Endpoint, opts Options) *Client {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Retries < 0 {
		opts.Retries = 0
	} else if opts.Retries == 0 {
		opts.Retries = 2
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 50 * time.Millisecond
	}
	if opts.FailureThreshold == 0 {
		opts.FailureThreshold = 5
	}
	if opts.Cooldown <= 0 {
		opts.Cooldown = 5 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	tr := opts.Transport
	if tr == nil {
		tr = &http.Transport{
			Proxy:               nil, // peers are addressed directly
			MaxIdleConns:        100,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}
	}
	c := &Client{http: &http.Client{Transport: traced(tr)}, opts: opts}
	for _, spec := range endpoints {
		e := &endpoint{Endpoint: spec, label: hostPort(spec.URL)}
		e.URL = strings.TrimRight(e.URL, "/")
		if e.Weight < 1 {
			e.Weight = 1
		}
		e.ready.Store(true) // until its probe says otherwise
		c.endpoints = append(c.endpoints, e)
		c.addBreaker(e)
	}
	return c
}

// addBreaker gives e its breaker, unless breakers are disabled.
func (c *Client) addBreaker(e *endpoint) {
	opts := c.opts
	if opts.FailureThreshold > 0 {
		e.breaker = gobreaker.NewCircuitBreaker[struct{}](gobreaker.Settings{
			Name:        e.URL,
			MaxRequests: 1, // one probe when half-open
			Timeout:     opts.Cooldown,
			ReadyToTrip: func(n gobreaker.Counts) bool {
				return n.ConsecutiveFailures >= uint32(opts.FailureThreshold)
			},
			IsExcluded: func(err error) bool { return errors.Is(err, errNotCounted) },
			OnStateChange: func(peer string, from, to gobreaker.State) {
				level := slog.LevelInfo
				if to == gobreaker.StateOpen {
					level = slog.LevelWarn
				}
				opts.Log.Log(context.Background(), level, "circuit breaker state changed",
					"peer", peer, "from", from.String(), "to", to.String())
				c.recordState(e, to)
			},
		})
		c.recordState(e, gobreaker.StateClosed)
	}
}

// BaseURL is the peer's address: its first endpoint's.
func (c *Client) BaseURL() string { return c.endpoints[0].URL }

// CircuitState is the state of the peer's breakers: "closed" (calls go
// through), "open" (calls fail fast) or "half-open" (one probe goes through).
// With several endpoints it is the best of theirs: closed while any endpoint
// takes calls freely, open only when every endpoint is.
func (c *Client) CircuitState() string {
	best := gobreaker.StateOpen
	for _, e := range c.endpoints {
		s := e.state()
		if s < best { // gobreaker numbers them closed, half-open, open
			best = s
		}
	}
	return best.String()
}

// EndpointStates is the state of each endpoint's breaker, by endpoint URL.
func (c *Client) EndpointStates() map[string]string {
	out := map[string]string{}
	for _, e := range c.endpoints {
		s := e.state()
		out[e.URL] = s.String()
	}
	return out
}

// Call sends in (when not nil) as JSON and decodes a 2xx answer into out (when
// not nil). GET, PUT and DELETE, and calls marked idempotent by the caller (a
// POST with a caller-chosen reference), are retried on transport failures and
// 502/503/504; other calls are tried once.
func (c *Client) Call(ctx context.Context, method, path string, in, out any, idempotent bool) error {
	start, begun := time.Now(), ctx.Err() == nil
	err := c.call(ctx, method, path, in, out, idempotent)
	if begun { // a caller that gave up before made no call
		c.observe(ctx, method, start, err)
	}
	return err
}

func (c *Client) call(ctx context.Context, method, path string, in, out any, idempotent bool) error {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return fmt.Errorf("httpclient: encode %s %s: %w", method, path, err)
		}
	}
	attempts := 1
	if idempotent || method == http.MethodGet || method == http.MethodPut || method == http.MethodDelete {
		attempts += c.opts.Retries
	}
	if err := ctx.Err(); err != nil {
		return problem.Unavailable(fmt.Errorf("%s %s: %w", method, path, err)) // no call, nothing to count
	}
	if delay, ok := hedgeFrom(ctx); ok && attempts > 1 && len(c.endpoints) > 1 {
		return c.hedged(ctx, delay, method, path, body, out)
	}
	return c.balanced(ctx, method, path, body, out, attempts)
}

// on makes the call on endpoint e, through e's breaker. ran is false when the
// breaker refused it; err then says why.
func (c *Client) on(ctx context.Context, e *endpoint, method, path string, body []byte, out any, attempts int) (err error, ran bool) {
	if e.breaker == nil {
		return c.try(ctx, e, method, path, body, out, attempts), true
	}
	_, refused := e.breaker.Execute(func() (struct{}, error) {
		ran = true
		err = c.try(ctx, e, method, path, body, out, attempts)
		return struct{}{}, verdict(ctx, err)
	})
	if !ran {
		return circuitOpen(method, e.URL+path, refused), false
	}
	return err, true
}

// circuitOpen is the error of a call no breaker let through.
func circuitOpen(method, where string, refused error) error {
	why := "the peer failed repeatedly"
	if errors.Is(refused, gobreaker.ErrTooManyRequests) {
		why = "half-open, a probe is in flight"
	}
	return problem.Unavailable(fmt.Errorf("%s %s: %w: %s", method, where, ErrCircuitOpen, why))
}

// errNotCounted is the verdict on a call the caller gave up on: it says nothing
// about the peer.
var errNotCounted = errors.New("httpclient: not counted")

// verdict is what the breaker learns from a call that ended with err: nil for
// a success, err for a failure of the peer, errNotCounted for neither.
func verdict(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(ctx.Err(), context.Canceled):
		return errNotCounted
	case peerFailed(err):
		return err
	}
	return nil // the peer answered: a 4xx problem is its business
}

// peerFailed reports whether err means the peer is unwell: unreachable, too
// slow, or answering 5xx.
func peerFailed(err error) bool {
	if retryable(err) {
		return true
	}
	var p *problem.Problem
	if errors.As(err, &p) {
		return p.Status >= 500
	}
	var s *statusError
	return errors.As(err, &s) && s.status >= 500
}

// try makes up to attempts attempts, with backoff between them, and stops
// early when the breaker opens meanwhile.
func (c *Client) try(ctx context.Context, e *endpoint, method, path string, body []byte, out any, attempts int) error {
	var lastErr error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-time.After(c.opts.Backoff << (i - 1)):
			case <-ctx.Done():
				return problem.Unavailable(fmt.Errorf("%s %s: %w (last error: %v)", method, path, ctx.Err(), lastErr))
			}
			if e.open() {
				return lastErr // other calls found the peer down meanwhile
			}
		}
		err := c.once(ctx, e, method, path, body, out)
		if err == nil || !retryable(err) {
			return err
		}
		lastErr = err
	}
	return lastErr
}

type transient struct{ error }

func (t transient) Unwrap() error { return t.error }

func retryable(err error) bool { return errors.As(err, new(transient)) }

// statusError is an answer that is neither 2xx nor a problem document.
type statusError struct {
	status int
	error
}

func (s *statusError) Unwrap() error { return s.error }

func (c *Client) once(ctx context.Context, e *endpoint, method, path string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	base := e.URL
	req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
	if err != nil {
		return fmt.Errorf("httpclient: build %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.opts.Credentials != nil {
		token, err := c.opts.Credentials()
		if err != nil {
			return fmt.Errorf("httpclient: credentials for %s %s: %w", method, path, err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/json, "+problem.ContentType)
	if p, ok := identity.PersonFrom(ctx); ok {
		req.Header.Set(identity.PersonHeader, identity.EncodePerson(p))
	}
	if id := correlation.ID(ctx); id != "" {
		req.Header.Set(correlation.Header, id)
	}
	tracing.Propagator.Inject(ctx, propagation.HeaderCarrier(req.Header)) // traced, the transport sends the attempt's own span
	resp, err := c.http.Do(req)
	if err != nil {
		return transient{problem.Unavailable(fmt.Errorf("%s %s%s: %w", method, base, path, err))}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return transient{problem.Unavailable(fmt.Errorf("read %s %s%s: %w", method, base, path, err))}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil {
			return nil
		}
		if err := decodeStrict(data, out); err != nil {
			return badGateway(fmt.Errorf("%s %s%s: the answer is not the contract's: %w", method, base, path, err))
		}
		return nil
	}
	var p problem.Problem
	if strings.HasPrefix(resp.Header.Get("Content-Type"), problem.ContentType) && json.Unmarshal(data, &p) == nil && p.Code != "" {
		if p.Status == http.StatusServiceUnavailable {
			return transient{&p}
		}
		return &p
	}
	switch resp.StatusCode {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return transient{problem.Unavailable(fmt.Errorf("%s %s%s: %s", method, base, path, resp.Status))}
	}
	return &statusError{resp.StatusCode, fmt.Errorf("httpclient: %s %s%s: unexpected %s", method, base, path, resp.Status)}
}
