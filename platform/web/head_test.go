package web_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/uberservice/uberservice/platform/web"
)

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
