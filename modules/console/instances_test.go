package console

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/uberservice/uberservice/platform/app"
)

// instance plays one instance of accounts: ready, its metrics from fixture,
// and the module's one dead letter (the instances share its table).
type instance struct {
	fixture   string
	deadReads atomic.Int32
}

func (f *instance) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/readyz":
		fmt.Fprint(w, `{"status":"ready"}`)
	case "/metrics":
		b, _ := os.ReadFile(f.fixture)
		w.Write(b)
	case "/ops/dead-letters":
		f.deadReads.Add(1)
		fmt.Fprint(w, `{"items":[{"id":9,"topic":"orders.order_paid.v1","status":"dead","attempts":5,"last_error":"boom","updated_at":"2026-01-02T03:04:05Z"}],"next_cursor":null}`)
	default:
		http.NotFound(w, r)
	}
}

// Two instances of accounts, a stable one and a canary of another version,
// are two rows, each with its own version and process, one box on the map
// that says so, and one read of their shared dead letters.
func TestTwoInstancesOfAModule(t *testing.T) {
	stable, canary := &instance{fixture: "testdata/metrics-1.txt"}, &instance{fixture: "testdata/metrics-next.txt"}
	stableSrv, canarySrv := httptest.NewServer(stable), httptest.NewServer(canary)
	t.Cleanup(stableSrv.Close)
	t.Cleanup(canarySrv.Close)
	places := func() []app.Placement {
		return []app.Placement{{
			ModuleInfo: app.ModuleInfo{Name: "accounts", Database: true, Consumes: []string{"orders.order_paid.v1"}},
			URL:        stableSrv.URL,
			Endpoints:  []app.Endpoint{{URL: stableSrv.URL, Weight: 90}, {URL: canarySrv.URL, Weight: 10, Version: "next"}},
		}}
	}
	c, err := newConsole(places, verify, "", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	live := func() live {
		views := c.look(t.Context(), goodToken)
		dead, problems := c.deadLetters(t.Context(), views, goodToken)
		return live{Map: moduleMap(views), Modules: views, DeadLetters: dead, DeadProblems: problems}
	}()
	if err := c.pages.ExecuteTemplate(&b, "live", live); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	host := func(u string) string { p, _ := url.Parse(u); return p.Host }
	if len(live.Modules) != 2 {
		t.Fatalf("%d rows, want 2", len(live.Modules))
	}
	for i, want := range []struct{ url, version, label string }{{stableSrv.URL, "1.4.2", ""}, {canarySrv.URL, "1.5.0-next", "next"}} {
		v := live.Modules[i]
		if v.URL != want.url || v.Ready != "ready" || v.Stats.Version != want.version || v.Label != want.label || v.Instances != 2 {
			t.Errorf("row %d: %s %s v%s label %q of %d, want %s v%s", i, v.URL, v.Ready, v.Stats.Version, v.Label, v.Instances, want.url, want.version)
		}
	}
	if a, b := live.Modules[0].Process, live.Modules[1].Process; a == "" || a == b {
		t.Errorf("processes %q and %q: want two", a, b)
	}
	for _, want := range []string{
		`data-instance="` + host(stableSrv.URL) + `"`, `data-instance="` + host(canarySrv.URL) + `"`,
		host(canarySrv.URL) + ` · next · weight 10`, host(stableSrv.URL) + ` · weight 90`,
		`<td>1.4.2</td>`, `<td>1.5.0-next</td>`,
		`peer · 2 instances`, `v 1.4.2, 1.5.0-next`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if n := strings.Count(page, `<tr class="dead-letter" data-module="accounts" data-id="9">`); n != 1 {
		t.Errorf("the dead letter is listed %d times, want once", n)
	}
	if s, c := stable.deadReads.Load(), canary.deadReads.Load(); s != 1 || c != 0 {
		t.Errorf("dead letters read %d times from the stable instance, %d from the canary; want 1 and 0", s, c)
	}
}
