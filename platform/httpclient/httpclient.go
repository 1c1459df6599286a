// Package httpclient is the transport under every gateway's HTTP client adapter:
// JSON in and out, the correlation id forwarded, problem+json answers decoded
// back into the *problem.Problem the server returned (so errors.Is matches the
// gateway's sentinel errors), a timeout on every call, and retries with backoff
// for idempotent calls only. A failure to reach the peer is problem.ErrUnavailable.
package httpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/problem"
)

// Options tune a client. Zero values mean the defaults.
type Options struct {
	Timeout   time.Duration // per attempt; default 5s
	Retries   int           // extra attempts for idempotent calls; default 2
	Backoff   time.Duration // before the first retry, doubling; default 50ms
	Transport http.RoundTripper
}

// Client calls one peer module.
type Client struct {
	base string
	http *http.Client
	opts Options
}

// New returns a client for the peer at baseURL (such as http://accounts:8081).
func New(baseURL string, opts Options) *Client {
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
	tr := opts.Transport
	if tr == nil {
		tr = &http.Transport{
			Proxy:               nil, // peers are addressed directly
			MaxIdleConns:        100,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
		}
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), http: &http.Client{Transport: tr}, opts: opts}
}

// BaseURL is the peer's address.
func (c *Client) BaseURL() string { return c.base }

// Call sends in (when not nil) as JSON and decodes a 2xx answer into out (when
// not nil). GET, PUT and DELETE, and calls marked idempotent by the caller (a
// POST with a caller-chosen reference), are retried on transport failures and
// 502/503/504; other calls are tried once.
func (c *Client) Call(ctx context.Context, method, path string, in, out any, idempotent bool) error {
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
	var lastErr error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			select {
			case <-time.After(c.opts.Backoff << (i - 1)):
			case <-ctx.Done():
				return problem.Unavailable(fmt.Errorf("%s %s: %w (last error: %v)", method, path, ctx.Err(), lastErr))
			}
		}
		err := c.once(ctx, method, path, body, out)
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

func (c *Client) once(ctx context.Context, method, path string, body []byte, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("httpclient: build %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, "+problem.ContentType)
	if id := correlation.ID(ctx); id != "" {
		req.Header.Set(correlation.Header, id)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return transient{problem.Unavailable(fmt.Errorf("%s %s%s: %w", method, c.base, path, err))}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return transient{problem.Unavailable(fmt.Errorf("read %s %s%s: %w", method, c.base, path, err))}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if out == nil || len(data) == 0 {
			return nil
		}
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("httpclient: decode answer to %s %s: %w", method, path, err)
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
		return transient{problem.Unavailable(fmt.Errorf("%s %s%s: %s", method, c.base, path, resp.Status))}
	}
	return fmt.Errorf("httpclient: %s %s%s: unexpected %s", method, c.base, path, resp.Status)
}
