package console

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/app"
)

// scraped is a view of module as the console sees it after scraping fixture.
func scraped(t *testing.T, info app.ModuleInfo, process, fixture string) moduleView {
	t.Helper()
	st, _ := summarize(info.Name, readFixture(t, fixture), nil, time.Now())
	return moduleView{Placement: app.Placement{ModuleInfo: info, URL: "http://x"}, Where: "peer", Ready: "ready",
		Process: process, Metrics: true, Stats: st}
}

var (
	accountsInfo = app.ModuleInfo{Name: "accounts",
		Publishes: []string{"accounts.account_created", "accounts.funds_deposited.v1", "accounts.funds_deposited.v2"},
		Versions:  []app.VersionInfo{{Topic: "accounts.funds_deposited.v1", Newest: "accounts.funds_deposited.v2"}}}
	imInfo = app.ModuleInfo{Name: "im", Consumes: []string{"accounts.account_created", "accounts.funds_deposited.v2"}}
)

// Mid-upgrade, the old im runs beside accounts and reads v1, the new one
// reads v2: the scrape of accounts' process tells of its im. Once the old
// one is gone, no one reads v1.
func TestTopicVersionsSayWhoReadsEachVersion(t *testing.T) {
	views := []moduleView{
		scraped(t, accountsInfo, "A", "subscribed-old.txt"),
		scraped(t, imInfo, "B", "subscribed-new.txt"),
	}
	got := topicFamilies(views)
	want := []topicFamily{{Name: "accounts.funds_deposited", Versions: []topicVersion{
		{Topic: "accounts.funds_deposited.v1", Readers: []topicReader{{Module: "im", Process: "A", Instance: "old-1", Version: "1.4.2"}}},
		{Topic: "accounts.funds_deposited.v2", Readers: []topicReader{{Module: "im", Process: "B", Instance: "new-1", Version: "1.5.0"}}},
	}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("mid-upgrade:\n got %+v\nwant %+v", got, want)
	}
	html := renderLive(t, live{Topics: got})
	for _, s := range []string{
		"Topic versions",
		`<code>accounts.funds_deposited.v1</code>: <span class="reader">read by im (process A, instance <code>old-1</code>, version 1.4.2)</span>`,
		`<code>accounts.funds_deposited.v2</code>: <span class="reader">read by im (process B, instance <code>new-1</code>, version 1.5.0)</span>`,
	} {
		if !strings.Contains(html, s) {
			t.Errorf("the page lacks %q:\n%s", s, html)
		}
	}

	// The upgrade done: both processes run the new im.
	views[0] = scraped(t, accountsInfo, "A", "subscribed-new.txt")
	views[0].Stats.Instance = "new-2"
	got = topicFamilies(views)
	if len(got) != 1 || got[0].Versions[0].Readers != nil || len(got[0].Versions[1].Readers) != 2 {
		t.Fatalf("after the upgrade: %+v", got)
	}
	if html := renderLive(t, live{Topics: got}); !strings.Contains(html, `<code>accounts.funds_deposited.v1</code>: <span class="no-reader">no one</span>`) {
		t.Errorf("the page does not say no one reads v1:\n%s", html)
	}
}

// A process that does not say what it reads (down, or a binary older than
// the gauge) is shown by what its module declares; a topic of one version
// is no family.
func TestTopicVersionsFallBackOnDeclarations(t *testing.T) {
	down := moduleView{Placement: app.Placement{ModuleInfo: app.ModuleInfo{Name: "im", Consumes: []string{"accounts.funds_deposited.v1"}}},
		Where: "peer", Ready: "down", Stats: stats{Version: none}}
	got := topicFamilies([]moduleView{scraped(t, accountsInfo, "A", "metrics-1.txt"), down})
	if len(got) != 1 {
		t.Fatalf("families: %+v", got)
	}
	v1 := got[0].Versions[0]
	if v1.Topic != "accounts.funds_deposited.v1" || len(v1.Readers) != 1 || !v1.Readers[0].Declared || v1.Readers[0].Module != "im" {
		t.Errorf("v1: %+v, want im, declared", v1)
	}
	if html := renderLive(t, live{Topics: got}); !strings.Contains(html, "read by im (declared; its process does not say)") {
		t.Errorf("the page does not say the reader is only declared:\n%s", html)
	}
	if got := topicFamilies([]moduleView{down}); got != nil {
		t.Errorf("one version is no family: %+v", got)
	}
}

func renderLive(t *testing.T, l live) string {
	t.Helper()
	pages, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := pages.ExecuteTemplate(&b, "live", l); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
