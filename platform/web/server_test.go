package web_test

import (
	"bufio"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/web"
)

func TestNewServerHasTheDocumentedLimits(t *testing.T) {
	srv := web.NewServer(http.NotFoundHandler())
	if srv.ReadHeaderTimeout != web.ReadHeaderTimeout || srv.ReadTimeout != web.ReadTimeout ||
		srv.WriteTimeout != web.WriteTimeout || srv.IdleTimeout != web.IdleTimeout ||
		srv.MaxHeaderBytes != web.GoHeaderLimit {
		t.Fatalf("server limits %v %v %v %v %d", srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
	}
	for _, d := range []time.Duration{srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout} {
		if d <= 0 || d > 2*time.Minute {
			t.Fatalf("a limit of %s bounds nothing", d)
		}
	}
	short := web.Timeouts{Idle: time.Second}.Server(http.NotFoundHandler())
	if short.IdleTimeout != time.Second || short.ReadTimeout != web.ReadTimeout {
		t.Fatalf("overriding one timeout: idle %s, read %s", short.IdleTimeout, short.ReadTimeout)
	}
}

func TestAnIdleKeepAliveConnectionIsClosed(t *testing.T) {
	const idle = 300 * time.Millisecond
	addr := listen(t, web.Timeouts{Idle: idle}.Server(server()))
	c := dial(t, addr)
	br := bufio.NewReader(c)
	req := "GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n"
	fmt.Fprint(c, req)
	if res, _ := readResponse(t, c, br, req, 5*time.Second); res.StatusCode != http.StatusOK || res.Close {
		t.Fatalf("status %d, close %v: want a kept-alive 200", res.StatusCode, res.Close)
	}
	if took := closedWithin(t, c, br, 5*time.Second); took < idle/2 {
		t.Fatalf("closed after %s, before the idle timeout of %s", took, idle)
	}
}

func TestSlowHeadersAreCutOffAfterTheHeaderTimeout(t *testing.T) {
	const header = 300 * time.Millisecond
	addr := listen(t, web.Timeouts{ReadHeader: header}.Server(server()))
	c := dial(t, addr)
	fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: test\r\n")
	trickle(t, c, strings.Repeat("X-Slow: a\r\n", 100), 20*time.Millisecond)
	if took := closedWithin(t, c, bufio.NewReader(c), 5*time.Second); took > header+time.Second {
		t.Fatalf("closed after %s, want about %s", took, header)
	}
}

func TestASlowBodyIsCutOffAfterTheReadTimeout(t *testing.T) {
	const read = 500 * time.Millisecond
	addr := listen(t, web.Timeouts{Read: read}.Server(server()))
	c := dial(t, addr)
	br := bufio.NewReader(c)
	start := time.Now()
	req := "POST /things HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"
	fmt.Fprint(c, req)
	trickle(t, c, strings.Repeat(" ", 199), 20*time.Millisecond) // a byte every 20ms: 4s for the body
	res, body := readResponse(t, c, br, req, 5*time.Second)
	if res.StatusCode != http.StatusRequestTimeout || res.Header.Get("Content-Type") != "application/problem+json" ||
		!strings.Contains(body, `"request_timeout"`) {
		t.Fatalf("status %d %q: %s, want a 408 problem", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	closedWithin(t, c, br, 5*time.Second)
	if took := time.Since(start); took > read+time.Second {
		t.Fatalf("the slow body held the connection for %s, want about %s", took, read)
	}
}

func TestAHandlerPastTheWriteTimeoutIsCutOff(t *testing.T) {
	addr := listen(t, web.Timeouts{Write: 200 * time.Millisecond}.Server(server()))
	c := dial(t, addr)
	br := bufio.NewReader(c)
	fmt.Fprint(c, "GET /slow HTTP/1.1\r\nHost: test\r\n\r\n") // answers after 1s
	closedWithin(t, c, br, 5*time.Second)
	if br.Buffered() > 0 {
		t.Fatalf("a response came after the write timeout")
	}
}

// TestSlowClientsDoNotStopTheOthers holds fifty connections that send their
// bodies a byte every 100ms, and their headers likewise, while the module
// answers others promptly.
func TestSlowClientsDoNotStopTheOthers(t *testing.T) {
	addr := listen(t, web.Timeouts{ReadHeader: 10 * time.Second, Read: 10 * time.Second}.Server(server()))
	var slow []<-chan error
	for i := range 50 {
		c := dial(t, addr)
		if i%2 == 0 {
			fmt.Fprint(c, "POST /things HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n")
			slow = append(slow, trickle(t, c, strings.Repeat(" ", 1000), 100*time.Millisecond))
		} else {
			slow = append(slow, trickle(t, c, "GET /healthz HTTP/1.1\r\nHost: test\r\nX-Slow: "+strings.Repeat("a", 100), 100*time.Millisecond))
		}
	}
	time.Sleep(300 * time.Millisecond) // every slow client has begun
	for _, path := range []string{"/healthz", "/readyz", "/things/k1", "/healthz", "/readyz"} {
		res, took := get(t, "http://"+addr+path)
		if res.StatusCode != http.StatusOK || took > time.Second {
			t.Fatalf("GET %s: %d after %s, with slow clients connected", path, res.StatusCode, took)
		}
	}
	for i, done := range slow {
		select {
		case err := <-done:
			t.Fatalf("slow client %d stopped early: %v", i, err)
		default:
		}
	}
}
