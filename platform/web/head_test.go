package web_test

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/web"
)

// raw sends method path on a connection of its own and returns the status
// line and headers, and every byte after them.
func raw(t *testing.T, addr, method, path string) (http.Header, int, string) {
	t.Helper()
	c := dial(t, addr)
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", method, path)
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	all, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	head, body, ok := strings.Cut(string(all), "\r\n\r\n")
	if !ok {
		t.Fatalf("%s %s: no end of headers in %q", method, path, all)
	}
	lines := strings.Split(head, "\r\n")
	status, err := strconv.Atoi(strings.Fields(lines[0])[1])
	if err != nil {
		t.Fatalf("%s %s: status line %q", method, path, lines[0])
	}
	h := http.Header{}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ": ")
		h.Add(k, v)
	}
	return h, status, body
}

func TestHeadIsAnsweredLikeGetWithoutABody(t *testing.T) {
	addr := listen(t, web.NewServer(server()))
	for _, path := range []string{"/healthz", "/readyz", "/things/k1", "/no-such-route"} {
		t.Run(path, func(t *testing.T) {
			getH, getStatus, getBody := raw(t, addr, http.MethodGet, path)
			headH, headStatus, headBody := raw(t, addr, http.MethodHead, path)
			if headStatus != getStatus || headBody != "" {
				t.Fatalf("HEAD: %d with %d bytes of body, want GET's %d and none", headStatus, len(headBody), getStatus)
			}
			if headH.Get("Content-Type") != getH.Get("Content-Type") || headH.Get("Content-Length") != strconv.Itoa(len(getBody)) {
				t.Fatalf("HEAD: %q, %s bytes; GET: %q, %d bytes", headH.Get("Content-Type"), headH.Get("Content-Length"), getH.Get("Content-Type"), len(getBody))
			}
		})
	}
	if _, status, body := raw(t, addr, http.MethodHead, "/things"); status != http.StatusMethodNotAllowed || body != "" {
		t.Fatalf("HEAD on a POST route: %d %q, want a 405 without a body", status, body)
	}
}
