package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/uberservice/uberservice/platform/web"
)

// withHeaders is a GET of path with the given header lines.
func withHeaders(path string, lines ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n", path)
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	return b.String() + "\r\n"
}

func TestHeadersOverThePlatformLimitsAreProblems(t *testing.T) {
	addr := listen(t, web.NewServer(server()))
	kib := func(n int) string { return strings.Repeat("a", n<<10) }
	cases := []struct {
		name   string
		req    string
		status int
		code   string
	}{
		{"headers under the limits", withHeaders("/healthz", "X-A: "+kib(7), "X-B: "+kib(7)), 200, ""},
		{"one header over the field limit", withHeaders("/healthz", "X-A: "+kib(9)), 431, "headers_too_large"},
		{"a request id of 60 kB", withHeaders("/healthz", "X-Request-Id: "+kib(60)), 431, "headers_too_large"},
		{"headers together over the limit", withHeaders("/healthz", "X-A: "+kib(6), "X-B: "+kib(6), "X-C: "+kib(6)), 431, "headers_too_large"},
		{"many small headers", withHeaders("/healthz", strings.Repeat("X-Many: 0123456789abcdef0123456789abcdef\r\n", 500)[:500*42-2]), 431, "headers_too_large"},
		{"a long URI", withHeaders("/things/" + kib(9)), 414, "uri_too_long"},
		{"an unknown route with large headers", withHeaders("/nope", "X-A: "+kib(9)), 431, "headers_too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, status, body := rawRequest(t, addr, c.req)
			if status != c.status {
				t.Fatalf("status %d, want %d: %.200s", status, c.status, body)
			}
			if c.code == "" {
				return
			}
			if h.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, `"code":"`+c.code+`"`) {
				t.Fatalf("%q %s, want a %s problem", h.Get("Content-Type"), body, c.code)
			}
		})
	}
}

// What Go's server refuses before any handler runs stays text/plain: headers
// past its own limit (web.GoHeaderLimit) and a request it cannot parse.
func TestWhatGoRefusesItselfStaysPlainText(t *testing.T) {
	addr := listen(t, web.NewServer(server()))
	for _, c := range []struct {
		name   string
		req    string
		status int
	}{
		{"headers past Go's limit", withHeaders("/healthz", "X-A: "+strings.Repeat("a", web.GoHeaderLimit+8<<10)), http.StatusRequestHeaderFieldsTooLarge},
		{"a malformed request line", "GARBAGE\r\n\r\n", http.StatusBadRequest},
		{"a malformed header", "GET /healthz HTTP/1.1\r\nHost: test\r\nno colon\r\n\r\n", http.StatusBadRequest},
		{"an unsupported transfer encoding", "POST /things HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: gzip\r\n\r\n", http.StatusNotImplemented},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, status, _ := rawRequest(t, addr, c.req)
			if status != c.status || !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
				t.Fatalf("%d %q, want Go's own %d text/plain", status, h.Get("Content-Type"), c.status)
			}
		})
	}
}
