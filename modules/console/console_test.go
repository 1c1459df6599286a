package console

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/peerauth"
	"github.com/uberservice/uberservice/platform/web"
)

const goodToken = "operator-token"

func verify(tok string) (peerauth.Claims, error) {
	if tok != goodToken {
		return peerauth.Claims{}, peerauth.ErrUnauthenticated
	}
	return peerauth.Claims{Subject: peerauth.Operator, Roles: []string{peerauth.Operator}}, nil
}

// fakeModule plays a module's internal API: ready, its metrics as the
// fixture, one dead letter that a replay removes.
type fakeModule struct {
	mu       sync.Mutex
	dead     bool // its dead letter is still there
	auth     []string
	replayed int
	refuse   bool // replays answer 409
}

func (f *fakeModule) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.auth = append(f.auth, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
	switch {
	case r.URL.Path == "/readyz":
		fmt.Fprint(w, `{"status":"ready"}`)
	case r.URL.Path == "/metrics":
		b, _ := os.ReadFile("testdata/metrics-1.txt")
		w.Write(b)
	case r.URL.Path == "/ops/dead-letters":
		items := `[]`
		if f.dead {
			items = `[{"id":7,"message_id":"m1","handler":"im.on_funds","topic":"accounts.funds_deposited.v1","status":"dead","attempts":5,"last_error":"ask accounts: <unavailable>","updated_at":"2026-01-02T03:04:05Z"}]`
		}
		fmt.Fprintf(w, `{"items":%s,"next_cursor":null}`, items)
	case r.URL.Path == "/ops/dead-letters/7/replay" && r.Method == http.MethodPost:
		if f.refuse {
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(http.StatusConflict)
			fmt.Fprint(w, `{"title":"Conflict","detail":"replay of dead letter 7 failed: still down"}`)
			return
		}
		f.replayed++
		f.dead = false
		fmt.Fprint(w, `{"replayed":7}`)
	default:
		http.NotFound(w, r)
	}
}

type world struct {
	url    string
	im     *fakeModule
	client *http.Client
}

func newWorld(t *testing.T, traceUI string) *world {
	t.Helper()
	im := &fakeModule{dead: true}
	imSrv := httptest.NewServer(im)
	t.Cleanup(imSrv.Close)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // nobody listens there any more
	places := func() []app.Placement {
		return []app.Placement{
			{ModuleInfo: app.ModuleInfo{Name: "accounts", Database: true, Publishes: []string{"accounts.funds_deposited.v1"}, Consumes: []string{"orders.order_paid.v1"}}, URL: down.URL},
			{ModuleInfo: app.ModuleInfo{Name: "im", Database: true, Uses: []app.UseInfo{{Gateway: "accounts"}}, Consumes: []string{"accounts.funds_deposited.v1"}}, URL: imSrv.URL},
			{ModuleInfo: app.ModuleInfo{Name: "portal"}},
		}
	}
	c, err := newConsole(places, verify, traceUI, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	e := web.New(Name, slog.New(slog.DiscardHandler))
	mount(e, c)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &world{url: srv.URL, im: im, client: client}
}

func (w *world) send(t *testing.T, method, path string, body io.Reader, headers ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, w.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := w.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b), res.Header
}

var operator = []string{"Cookie", cookieName + "=" + goodToken}

func TestLogin(t *testing.T) {
	w := newWorld(t, "")
	status, body, _ := w.send(t, "GET", "/", nil)
	if status != http.StatusOK || !strings.Contains(body, `name="token"`) {
		t.Fatalf("GET / without a token: %d\n%s", status, body)
	}
	form := func(tok string) io.Reader { return strings.NewReader(url.Values{"token": {tok}}.Encode()) }
	ct := []string{"Content-Type", "application/x-www-form-urlencoded"}
	if status, body, _ := w.send(t, "POST", "/login", form("forged"), ct...); status != http.StatusUnauthorized || !strings.Contains(body, "no valid operator") {
		t.Errorf("a bad token: %d\n%s", status, body)
	}
	if status, _, _ := w.send(t, "POST", "/login", form(""), ct...); status != http.StatusBadRequest {
		t.Errorf("no token: %d", status)
	}
	status, _, h := w.send(t, "POST", "/login", form("Bearer "+goodToken), ct...)
	cookie := h.Get("Set-Cookie")
	if status != http.StatusSeeOther || !strings.Contains(cookie, cookieName+"="+goodToken) || !strings.Contains(cookie, "HttpOnly") ||
		!strings.Contains(cookie, "SameSite=Strict") || strings.Contains(cookie, "Secure") {
		t.Errorf("a good token: %d, Set-Cookie %q", status, cookie)
	}
	for _, auth := range [][]string{operator, {"Authorization", "Bearer " + goodToken}} {
		if status, body, _ := w.send(t, "GET", "/", nil, auth...); status != http.StatusOK || !strings.Contains(body, `id="live"`) {
			t.Errorf("GET / with %s: %d", auth[0], status)
		}
	}
	if status, _, _ := w.send(t, "GET", "/live", nil); status != http.StatusUnauthorized {
		t.Errorf("GET /live without a token: %d", status)
	}
}

// The dashboard shows every module, up, down or nowhere, asks with the
// operator's own token, and is never a 500 for a module that is down.
func TestDashboard(t *testing.T) {
	w := newWorld(t, "")
	status, body, h := w.send(t, "GET", "/", nil, operator...)
	if status != http.StatusOK {
		t.Fatalf("GET /: %d\n%s", status, body)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	for _, want := range []string{
		`<tr data-module="accounts" class="down">`, `<tr data-module="im" class="ready">`, `<tr data-module="portal" class="unknown">`,
		`1.4.2`, `10.0%`, `25ms`, `3, oldest 12.5s`, `accounts 127.0.0.1:9081: open`, `accounts.funds_deposited.v1: 50ms`,
		`<svg class="map"`, `data-module="im"`, `im calls the accounts gateway`, `accounts → im: accounts.funds_deposited.v1`,
		`ask accounts: &lt;unavailable&gt;`, `<button type="button" class="replay" data-module="im" data-id="7">`,
		`No trace backend is configured`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	w.im.mu.Lock()
	defer w.im.mu.Unlock()
	for _, a := range w.im.auth {
		if strings.Contains(a, "/ops/") && !strings.HasSuffix(a, "Bearer "+goodToken) {
			t.Errorf("asked %s without the operator's token", a)
		}
	}
}

func TestReplay(t *testing.T) {
	w := newWorld(t, "")
	path := "/dead-letters/im/7/replay"
	same := []string{requestHeader, "replay", "Sec-Fetch-Site", "same-origin"}
	if status, _, _ := w.send(t, "POST", path, nil, same...); status != http.StatusUnauthorized {
		t.Errorf("without a token: %d", status)
	}
	for _, h := range [][]string{
		{}, // a plain form post
		{requestHeader, "replay", "Sec-Fetch-Site", "cross-site"},
		{requestHeader, "replay", "Origin", "https://evil.example"},
	} {
		if status, _, _ := w.send(t, "POST", path, nil, append(h, operator...)...); status != http.StatusForbidden {
			t.Errorf("cross-site %q: %d", h, status)
		}
	}
	for _, p := range []string{"/dead-letters/nobody/7/replay", "/dead-letters/im/x/replay", "/dead-letters/im/-1/replay", "/dead-letters/portal/7/replay", "/dead-letters/im/8/replay"} {
		if status, body, _ := w.send(t, "POST", p, nil, append(same, operator...)...); status != http.StatusNotFound {
			t.Errorf("%s: %d %s", p, status, body)
		}
	}
	w.im.refuse = true
	if status, body, _ := w.send(t, "POST", path, nil, append(same, operator...)...); status != http.StatusConflict || !strings.Contains(body, "still down") {
		t.Errorf("a replay that fails again: %d %s", status, body)
	}
	w.im.refuse = false
	if status, body, _ := w.send(t, "POST", path, nil, append(same, operator...)...); status != http.StatusOK || w.im.replayed != 1 {
		t.Fatalf("replay: %d %s", status, body)
	}
	if _, body, _ := w.send(t, "GET", "/live", nil, operator...); !strings.Contains(body, "No dead letters.") {
		t.Errorf("the dead letter is still listed:\n%s", body)
	}
	if status, _, _ := w.send(t, "POST", "/dead-letters/accounts/7/replay", nil, append(same, operator...)...); status != http.StatusBadGateway {
		t.Errorf("a module that is down: %d", status)
	}
}
