package app

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/moduledoc"
)

type postedV2 struct {
	Cents int64 `json:"cents"`
}

func (postedV2) Topic() string { return "ledger.posted.v2" }

func (e postedV2) Previous() interface{ Topic() string } { return posted{Amount: e.Cents} }

// An older version of a topic, still published, says in `uberservice
// modules` and in the document whose events it carries and who still reads
// it: what stands between its publisher and dropping it.
func TestOlderVersionsSayWhoStillReadsThem(t *testing.T) {
	none := func(context.Context, *Env) error { return nil }
	modules := []Module{
		{Name: "ledger", Port: 9001, Publishes: []string{"ledger.posted.v1", "ledger.posted.v2"},
			Payloads: []messaging.Event{posted{}, postedV2{}}, Init: none},
		{Name: "mailer", Port: 9004, Consumes: []string{"ledger.posted.v1"}, Init: none},
		{Name: "audit", Port: 9005, Consumes: []string{"ledger.posted.v2"}, Init: none},
	}
	var out bytes.Buffer
	if err := listCommand(nil, modules, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "ledger.posted.v1  of ledger.posted.v2 (ledger)\n  still read by: mailer\n") {
		t.Errorf("uberservice modules does not say who still reads ledger.posted.v1:\n%s", out.String())
	}
	d, err := document(t.Context(), modules)
	if err != nil {
		t.Fatal(err)
	}
	md := moduledoc.Markdown(d)
	for _, want := range []string{
		"An older version of `ledger.posted.v2`", "Still read by: mailer.",
		"Also published, converted, as its older version `ledger.posted.v1`",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("the document lacks %q:\n%s", want, md)
		}
	}
}

// The JSON catalogue, which programs read, says the same: which topics a
// module publishes are older versions, and of what.
func TestTheCatalogueListsTheOlderVersions(t *testing.T) {
	none := func(context.Context, *Env) error { return nil }
	modules := []Module{
		{Name: "ledger", Port: 9001, Publishes: []string{"ledger.posted.v1", "ledger.posted.v2"},
			Payloads: []messaging.Event{posted{}, postedV2{}}, Init: none},
		{Name: "mailer", Port: 9004, Consumes: []string{"ledger.posted.v1"}, Init: none},
	}
	var out bytes.Buffer
	if err := listCommand([]string{"--format", "json"}, modules, &out, &out); err != nil {
		t.Fatal(err)
	}
	var c Catalogue
	if err := json.Unmarshal(out.Bytes(), &c); err != nil {
		t.Fatal(err)
	}
	want := []VersionInfo{{Topic: "ledger.posted.v1", Newest: "ledger.posted.v2"}}
	if got := c.Modules[0].Versions; !slices.Equal(got, want) {
		t.Errorf("ledger's versions: %+v, want %+v", got, want)
	}
	if got := c.Modules[1].Versions; got == nil || len(got) != 0 {
		t.Errorf("mailer's versions: %#v, want [] (lists are never null)", got)
	}
	if !strings.Contains(out.String(), `"versions": []`) {
		t.Errorf("a module with no older version has no empty list of them:\n%s", out.String())
	}
}
