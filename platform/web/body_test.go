package web_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/web"
)

// sendWhole writes req and then all of body before reading anything, as
// Python's urllib does, and returns the answer. A connection reset while
// sending or reading fails the test.
func sendWhole(t *testing.T, addr, req string, body []string) (*http.Response, string) {
	t.Helper()
	c := dial(t, addr)
	_ = c.SetWriteDeadline(time.Now().Add(20 * time.Second))
	if _, err := fmt.Fprint(c, req); err != nil {
		t.Fatalf("send the headers: %v", err)
	}
	for _, b := range body {
		if _, err := c.Write([]byte(b)); err != nil {
			t.Fatalf("the server stopped the client sending its body: %v", err)
		}
	}
	return readResponse(t, c, bufio.NewReader(c), req, 20*time.Second)
}

func expectTooLarge(t *testing.T, res *http.Response, body string) {
	t.Helper()
	if res.StatusCode != http.StatusRequestEntityTooLarge || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("status %d %q: %s, want a 413 problem", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	var p struct{ Code string }
	if err := json.Unmarshal([]byte(body), &p); err != nil || p.Code != "body_too_large" {
		t.Fatalf("problem %s (%v), want code body_too_large", body, err)
	}
	if !res.Close {
		t.Fatal("the connection is kept alive after a refused body")
	}
}

// jsonOf is a JSON object of size bytes.
func jsonOf(size int) string {
	return `{"name":"` + strings.Repeat("x", size-len(`{"name":""}`)) + `"}`
}

func TestABodyOverTheLimitIsA413ForAClientThatSendsItAll(t *testing.T) {
	addr := listen(t, web.NewServer(server()))
	for _, size := range []int{100 << 10, 1 << 20, 3 << 20, 9 << 20} {
		t.Run(fmt.Sprintf("%d KiB", size>>10), func(t *testing.T) {
			req := fmt.Sprintf("POST /things HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", size)
			res, body := sendWhole(t, addr, req, []string{jsonOf(size)})
			expectTooLarge(t, res, body)
		})
	}
}

func TestAChunkedBodyOverTheLimitIsA413ForAClientThatSendsItAll(t *testing.T) {
	addr := listen(t, web.NewServer(server()))
	for _, size := range []int{100 << 10, 3 << 20, 9 << 20} {
		t.Run(fmt.Sprintf("%d KiB", size>>10), func(t *testing.T) {
			req := "POST /things HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
			var chunks []string
			for rest := jsonOf(size); rest != ""; {
				n := min(len(rest), 32<<10)
				chunks = append(chunks, fmt.Sprintf("%x\r\n%s\r\n", n, rest[:n]))
				rest = rest[n:]
			}
			res, body := sendWhole(t, addr, req, append(chunks, "0\r\n\r\n"))
			expectTooLarge(t, res, body)
		})
	}
}

// A client that asks before sending (Expect: 100-continue, as curl does for
// large bodies) gets the 413 at once and need not send its body.
func TestAnExpectContinueClientGetsThe413WithoutSendingItsBody(t *testing.T) {
	addr := listen(t, web.NewServer(server()))
	c := dial(t, addr)
	req := fmt.Sprintf("POST /things HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", 9<<20)
	fmt.Fprint(c, req)
	start := time.Now()
	res, body := readResponse(t, c, bufio.NewReader(c), req, 5*time.Second)
	expectTooLarge(t, res, body)
	if took := time.Since(start); took > time.Second {
		t.Fatalf("the 413 came after %s", took)
	}
}

// The server reads and throws away at most web.DrainLimit of a refused body:
// a client that goes on sending is cut off.
func TestTheDrainOfARefusedBodyIsBounded(t *testing.T) {
	addr := listen(t, web.NewServer(server()))
	c := dial(t, addr)
	fmt.Fprint(c, "POST /things HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
	_ = c.SetWriteDeadline(time.Now().Add(20 * time.Second))
	chunk := []byte(fmt.Sprintf("%x\r\n%s\r\n", 64<<10, strings.Repeat("x", 64<<10)))
	sent := 0
	for sent < 4*(16<<20) {
		n, err := c.Write(chunk)
		sent += n
		if err != nil {
			break
		}
	}
	// What the kernel buffers on either side comes on top of what was read.
	if sent >= 4*(16<<20) {
		t.Fatalf("the server read %d MiB of a refused body", sent>>20)
	}
}
