package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/web"
)

// logged is a module whose log lines, every level, are kept as JSON objects.
type logged struct {
	e        *echo.Echo
	mu       sync.Mutex
	buf      bytes.Buffer
	notReady atomic.Bool // the readiness check fails
}

func (l *logged) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func newLogged() *logged {
	l := &logged{}
	log := slog.New(correlation.Handler(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.e = web.New("test", log)
	l.e.GET("/things/:id", func(c echo.Context) error {
		log.InfoContext(c.Request().Context(), "handling")
		return c.JSON(http.StatusOK, map[string]string{"id": c.Param("id")})
	})
	web.MountHealth(l.e, func() []web.Check {
		return []web.Check{{Name: "db", Check: func(context.Context) error {
			if l.notReady.Load() {
				return errors.New("down")
			}
			return nil
		}}}
	})
	return l
}

func (l *logged) do(method, path string, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	web.NewServer(l.e).Handler.ServeHTTP(rec, req) // as a module's server
	return rec
}

// lines returns the log lines so far, and forgets them.
func (l *logged) lines(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(l.buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	l.buf.Reset()
	return out
}

func TestLogLinesCarryTheReplacementOfAnInvalidRequestID(t *testing.T) {
	l := newLogged()
	sent := strings.Repeat("a", 4<<10)
	rec := l.do(http.MethodGet, "/things/k1", correlation.Header, sent)
	id := rec.Header().Get(correlation.Header)
	if strings.Contains(l.buf.String(), sent[:200]) {
		t.Fatal("the invalid id reached the log")
	}
	lines := l.lines(t)
	if len(lines) != 2 {
		t.Fatalf("%d log lines, want the handler's and the request's", len(lines))
	}
	for _, line := range lines {
		if line["correlation_id"] != id {
			t.Fatalf("log line %v, want correlation_id %s", line, id)
		}
	}
}

func TestHeadIsLoggedAsHead(t *testing.T) {
	l := newLogged()
	l.do(http.MethodHead, "/things/k1")
	lines := l.lines(t)
	if last := lines[len(lines)-1]; last["msg"] != "request" || last["method"] != "HEAD" || last["status"] != 200.0 {
		t.Fatalf("request line %v, want a HEAD answered 200", last)
	}
}

func TestProbesAreLoggedAtDebug(t *testing.T) {
	l := newLogged()
	for _, c := range []struct {
		method, path string
		notReady     bool
		level        string
	}{
		{"GET", "/healthz", false, "DEBUG"},
		{"GET", "/readyz", false, "DEBUG"},
		{"HEAD", "/readyz", false, "DEBUG"},
		{"GET", "/healthz?probe=kubelet", false, "DEBUG"},
		{"GET", "/readyz", true, "WARN"}, // not ready: worth seeing, not an error of the server's
		{"GET", "/things/k1", false, "INFO"},
		{"GET", "/healthzz", false, "INFO"},
	} {
		l.notReady.Store(c.notReady)
		l.do(c.method, c.path)
		lines := l.lines(t)
		last := lines[len(lines)-1]
		if last["msg"] != "request" || last["level"] != c.level {
			t.Errorf("%s %s (not ready: %v) logged %v, want level %s", c.method, c.path, c.notReady, last, c.level)
		}
	}
}
