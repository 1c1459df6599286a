package console

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/web"
)

// effectsServer plays an instance's GET /ops/effects: shadow "" is the live
// module. It keeps what it was asked.
type effectsServer struct {
	shadow, effects string
	forked          string // a shadow's fork (RFC 3339): it answers from then when later
	mu              sync.Mutex
	asked           []string // since, and the Authorization header
}

func (f *effectsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != app.EffectsPath {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	f.asked = append(f.asked, r.URL.Query().Get("since")+" "+r.Header.Get("Authorization"))
	f.mu.Unlock()
	since := r.URL.Query().Get("since")
	if f.forked > since { // RFC 3339 in UTC orders as text
		since = f.forked
	}
	fmt.Fprintf(w, `{"module":"im","shadow":%q,"since":%q,"effects":%s}`, f.shadow, since, f.effects)
}

// A shadow forked within the window answers from its fork, and the live
// module is then asked for that same window: what happened before the shadow
// existed is on neither side.
func TestShadowsPageComparesFromTheFork(t *testing.T) {
	live := &effectsServer{effects: `{"commission":[]}`}
	canary := &effectsServer{shadow: "canary", forked: "2026-01-02T14:30:00Z", effects: `{"commission":[]}`}
	liveSrv, canarySrv := httptest.NewServer(live), httptest.NewServer(canary)
	t.Cleanup(liveSrv.Close)
	t.Cleanup(canarySrv.Close)
	c, err := newConsole(func() []app.Placement {
		return []app.Placement{{ModuleInfo: app.ModuleInfo{Name: "im", Database: true}, URL: liveSrv.URL}}
	}, verify, "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC) }
	c.shadows = func() []app.ShadowPeer { return []app.ShadowPeer{{Module: "im", Name: "canary", URL: canarySrv.URL}} }
	e := web.New(Name, slog.New(slog.DiscardHandler))
	mount(e, c)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	w := &world{url: srv.URL, client: http.DefaultClient}
	if status, body, _ := w.send(t, "GET", "/shadows?since=2h", nil, operator...); status != http.StatusOK {
		t.Fatalf("GET /shadows: %d\n%s", status, body)
	}
	if want := []string{"2026-01-02T14:30:00Z Bearer " + goodToken}; !slices.Equal(live.asked, want) {
		t.Errorf("the live module was asked %q, want %q: the shadow's fork, not the page's window", live.asked, want)
	}
}

// The shadows page holds each shadow's effects to its live module's, both
// asked for one window with the operator's token; a shadow that is down, or
// an address that answers as another instance, is said, not a 500.
func TestShadowsPage(t *testing.T) {
	live := &effectsServer{effects: `{"commission":[{"key":"t1","value":"15 EUR"},{"key":"t2","value":"4 EUR"},{"key":"t3","value":"6 EUR"}]}`}
	canary := &effectsServer{shadow: "canary", effects: `{"commission":[{"key":"t1","value":"15 EUR"},{"key":"t2","value":"5 EUR"},{"key":"t4","value":"1 EUR"}]}`}
	liveSrv, canarySrv := httptest.NewServer(live), httptest.NewServer(canary)
	t.Cleanup(liveSrv.Close)
	t.Cleanup(canarySrv.Close)
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	places := func() []app.Placement {
		return []app.Placement{{ModuleInfo: app.ModuleInfo{Name: "im", Database: true}, URL: liveSrv.URL}}
	}
	c, err := newConsole(places, verify, "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c.now = func() time.Time { return time.Date(2026, 1, 2, 15, 0, 0, 0, time.UTC) }
	c.shadows = func() []app.ShadowPeer {
		return []app.ShadowPeer{
			{Module: "im", Name: "canary", URL: canarySrv.URL},
			{Module: "im", Name: "gone", URL: down.URL},
			{Module: "im", Name: "wrong", URL: liveSrv.URL},
		}
	}
	e := web.New(Name, slog.New(slog.DiscardHandler))
	mount(e, c)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	w := &world{url: srv.URL, client: http.DefaultClient}

	if status, body, _ := w.send(t, "GET", "/shadows", nil); status != http.StatusOK || !strings.Contains(body, `name="token"`) {
		t.Fatalf("GET /shadows without a token: %d, want the login form", status)
	}
	status, body, _ := w.send(t, "GET", "/shadows?since=2h", nil, operator...)
	if status != http.StatusOK {
		t.Fatalf("GET /shadows: %d\n%s", status, body)
	}
	canaryPart, _, _ := strings.Cut(body[strings.Index(body, `data-shadow="canary"`):], "</section>")
	for _, want := range []string{
		`<tr data-effect="commission"><td class="name">commission</td><td class="agree">1</td><td class="differ">1</td><td class="live-only">1</td><td class="shadow-only">1</td></tr>`,
		`<td><code>t2</code></td><td><pre>4 EUR</pre></td><td><pre>5 EUR</pre></td>`,
		`<td><code>t3</code></td><td><pre>6 EUR</pre></td><td><pre>(none)</pre></td>`,
	} {
		if !strings.Contains(canaryPart, want) {
			t.Errorf("the canary's part lacks %s:\n%s", want, canaryPart)
		}
	}
	for _, want := range []string{"Effects since 2026-01-02T13:00:00Z", "Could not ask shadow gone of im: ", "Could not ask shadow wrong of im: " + liveSrv.URL + " answers as the live module of im"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	for _, s := range []*effectsServer{live, canary} {
		if len(s.asked) == 0 {
			t.Errorf("%q was not asked", s.shadow)
		}
		for _, a := range s.asked {
			if a != "2026-01-02T13:00:00Z Bearer "+goodToken {
				t.Errorf("asked %q, want the window's start and the operator's token", a)
			}
		}
	}
	if status, body, _ := w.send(t, "GET", "/shadows?since=yesterday", nil, operator...); status != http.StatusBadRequest || !strings.Contains(body, "want a duration") {
		t.Errorf("a bad window: %d\n%s", status, body)
	}
	c.placements = func() []app.Placement { return []app.Placement{{ModuleInfo: app.ModuleInfo{Name: "im"}}} }
	if _, body, _ := w.send(t, "GET", "/shadows", nil, operator...); !strings.Contains(body, "Could not ask live im: it runs nowhere this console knows") {
		t.Errorf("a live module with no place: the page does not say so")
	}
	c.shadows = nil
	if _, body, _ := w.send(t, "GET", "/shadows", nil, operator...); !strings.Contains(body, "No shadow is configured") {
		t.Errorf("no shadows: the page does not say so")
	}
	if _, body, _ := w.send(t, "GET", "/", nil, operator...); !strings.Contains(body, `href="/shadows"`) {
		t.Errorf("the dashboard does not link the shadows page")
	}
}
