package apptest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/correlation"
)

// sendWholeBody sends ex with a JSON body of size bytes the way a simple
// client does (Python's urllib, say): it writes the request to its last byte
// before it reads a byte of the answer, and then reads the answer.
func sendWholeBody(t testing.TB, ex Example, size int) Response {
	t.Helper()
	u, err := url.Parse(ex.URL)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatalf("apptest: dial %s: %v", u.Host, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(60 * time.Second))
	var head strings.Builder
	fmt.Fprintf(&head, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n",
		ex.Method, u.RequestURI(), u.Host, size)
	for i := 0; i+1 < len(ex.Header); i += 2 {
		fmt.Fprintf(&head, "%s: %s\r\n", ex.Header[i], ex.Header[i+1])
	}
	head.WriteString("\r\n")
	body := make([]byte, size)
	copy(body, `{"pad":"`)
	for i := len(`{"pad":"`); i < size-2; i++ {
		body[i] = 'x'
	}
	copy(body[size-2:], `"}`)
	_, werr := conn.Write(append([]byte(head.String()), body...))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("apptest: no answer to a %d-byte body written whole (write: %v): %v", size, werr, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("apptest: read the answer to a %d-byte body: %v", size, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// headLikeGet holds HEAD on a GET route to what GET answers, without a body.
func headLikeGet(t *testing.T, ex Example) {
	t.Run("HEAD answers like GET, without a body", func(t *testing.T) {
		get := DoRaw(t, http.MethodGet, ex.URL, nil, ex.Header...)
		head := DoRaw(t, http.MethodHead, ex.URL, nil, ex.Header...)
		if head.Status != get.Status || len(head.Body) != 0 ||
			head.Header.Get("Content-Type") != get.Header.Get("Content-Type") {
			t.Fatalf("HEAD: %d %q with %d bytes; GET: %d %q", head.Status, head.Header.Get("Content-Type"), len(head.Body),
				get.Status, get.Header.Get("Content-Type"))
		}
	})
}

// requestIDReplaced holds a route to answering an X-Request-Id that is too
// long, or has what no id has, with an id of the server's making.
func requestIDReplaced(t *testing.T, ex Example) {
	t.Run("an unusable X-Request-Id is replaced", func(t *testing.T) {
		for _, id := range []string{strings.Repeat("r", 4096), "two words", "\xe9t\xe9", "a\"b<c>"} {
			res := DoRaw(t, ex.Method, ex.URL, nil, append(append([]string{}, ex.Header...), correlation.Header, id)...)
			got := res.Header.Get(correlation.Header)
			if got == id || got == "" || len(got) > 128 {
				t.Errorf("X-Request-Id %.40q answered with %.40q (%d bytes), want an id of the server's", id, got, len(got))
			}
		}
	})
}
