package web_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listen serves srv on a loopback port until the test ends, as
// platform/app serves a module, and returns its address.
func listen(t *testing.T, srv *http.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// dial opens a raw connection to addr, closed when the test ends.
func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// trickle writes one byte of b every interval until b is written, a write
// fails or the test ends; the returned channel gets the write error (nil when
// all of b went out).
func trickle(t *testing.T, c net.Conn, b string, interval time.Duration) <-chan error {
	done := make(chan error, 1)
	ctx := t.Context()
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for i := 0; i < len(b); i++ {
			select {
			case <-ctx.Done():
				done <- ctx.Err()
				return
			case <-tick.C:
			}
			if _, err := c.Write([]byte{b[i]}); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	return done
}

// readResponse reads one response from br, body included, failing the test
// when none comes within limit.
func readResponse(t *testing.T, c net.Conn, br *bufio.Reader, req string, limit time.Duration) (*http.Response, string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(limit))
	method, _, _ := strings.Cut(req, " ")
	res, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("no response to %q: %v", req, err)
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read the body of the answer to %q: %v", req, err)
	}
	return res, string(body)
}

// closedWithin waits until the server closes c, and says how long that took;
// it fails the test when c is still open after limit.
func closedWithin(t *testing.T, c net.Conn, br *bufio.Reader, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(limit))
	for {
		if _, err := br.ReadByte(); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("the connection is still open after %s", limit)
			}
			return time.Since(start)
		}
	}
}

// get makes a request on a connection of its own with Go's client, bounded.
func get(t *testing.T, url string) (*http.Response, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	start := time.Now()
	res, err := (&http.Transport{DisableKeepAlives: true}).RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	_ = res.Body.Close()
	return res, time.Since(start)
}

// raw sends method path on a connection of its own and returns the
// answer's headers, status, and every byte after the headers.
func raw(t *testing.T, addr, method, path string) (http.Header, int, string) {
	t.Helper()
	return rawRequest(t, addr, method+" "+path+" HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
}

// rawRequest sends req as it is, on a connection of its own, and reads the
// answer as raw does.
func rawRequest(t *testing.T, addr, req string) (http.Header, int, string) {
	t.Helper()
	c := dial(t, addr)
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = io.WriteString(c, req) // a server that refuses early may close before all is sent
	all, err := io.ReadAll(c)
	if err != nil && len(all) == 0 {
		t.Fatalf("%.60q: %v", req, err)
	}
	head, body, ok := strings.Cut(string(all), "\r\n\r\n")
	if !ok {
		t.Fatalf("%.60q: no end of headers in %q", req, all)
	}
	lines := strings.Split(head, "\r\n")
	status, err := strconv.Atoi(strings.Fields(lines[0])[1])
	if err != nil {
		t.Fatalf("%.60q: status line %q", req, lines[0])
	}
	h := http.Header{}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ": ")
		h.Add(k, v)
	}
	return h, status, body
}
