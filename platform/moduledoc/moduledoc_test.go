package moduledoc_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/platform/moduledoc"
)

// A small system: ledger keeps accounts and publishes postings; shop calls
// ledger, and a catalog it runs without; mailer, with no database, calls
// nothing and consumes ledger's and shop's events; quiet declares nothing.
type amounts struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

type item struct {
	SKU string `json:"sku"`
}

type posted struct {
	amounts
	ID       uuid.UUID  `json:"id"`
	Memo     string     `json:"memo,omitempty"`
	Items    []item     `json:"items"`
	At       time.Time  `json:"at"`
	Reversed *time.Time `json:"reversed,omitzero"`
	internal string
	Ignored  string `json:"-"`
	Untagged bool
}

func (posted) Topic() string { return "ledger.posted.v1" }

func fixture() moduledoc.Doc {
	modules := []moduledoc.Module{
		{Name: "ledger", Port: 9001, InternalPort: 9101, Database: true, Publishes: []string{"ledger.posted.v1", "ledger.closed.v1"}},
		{Name: "shop", Port: 9002, InternalPort: 9102, Database: true,
			Uses:      []moduledoc.Use{{Gateway: "ledger"}, {Gateway: "catalog", Optional: true}},
			Publishes: []string{"shop.sold.v1"}},
		{Name: "mailer", Port: 9003, InternalPort: 9103, Consumes: []string{"ledger.posted.v1", "ledger.closed.v1", "shop.sold.v1"}},
		{Name: "quiet", Port: 9004, InternalPort: 9104},
	}
	payloads := map[string]any{"ledger.posted.v1": posted{}}
	methods := map[string][]moduledoc.Method{
		"ledger": {{Name: "Post", Route: "POST /gateway/ledger/v1/postings", Retry: "always"}},
	}
	return moduledoc.New(modules, payloads, methods)
}

func TestFieldsAreThePayloadsJSON(t *testing.T) {
	got := moduledoc.Fields(posted{})
	want := []moduledoc.Field{
		{Name: "amount", Type: "integer"},
		{Name: "currency", Type: "string"},
		{Name: "id", Type: "string (uuid.UUID)"},
		{Name: "memo", Type: "string", OmitEmpty: true},
		{Name: "items", Type: "array of object"},
		{Name: "items[].sku", Type: "string"},
		{Name: "at", Type: "string (RFC 3339 time)"},
		{Name: "reversed", Type: "string (RFC 3339 time) or null", OmitEmpty: true},
		{Name: "Untagged", Type: "boolean"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Fields(posted{}):\n got %+v\nwant %+v", got, want)
	}
	if moduledoc.Fields("not a struct") != nil {
		t.Error("a string has fields")
	}
}

func TestNewRelatesTopicsAndGatewaysToModules(t *testing.T) {
	d := fixture()
	var topics []string
	for _, tp := range d.Topics {
		topics = append(topics, tp.Name+" "+tp.Publisher+" -> "+strings.Join(tp.Consumers, ","))
	}
	want := []string{"ledger.posted.v1 ledger -> mailer", "ledger.closed.v1 ledger -> mailer", "shop.sold.v1 shop -> mailer"}
	if !slices.Equal(topics, want) {
		t.Errorf("topics = %q, want %q", topics, want)
	}
	if d.Topics[0].Payload != "moduledoc_test.posted" || len(d.Topics[0].Fields) == 0 || d.Topics[1].Payload != "" {
		t.Errorf("payloads: %+v", d.Topics[:2])
	}
	if len(d.Gateways) != 2 || d.Gateways[0].Name != "ledger" || d.Gateways[1].Name != "catalog" ||
		!slices.Equal(d.Gateways[1].Callers, []moduledoc.Caller{{Module: "shop", Optional: true}}) || d.Gateways[1].Methods != nil {
		t.Errorf("gateways = %+v", d.Gateways)
	}
}

func TestPlacementIsWhatAModuleNeedsApart(t *testing.T) {
	d := fixture()
	for name, want := range map[string]moduledoc.Placement{
		"ledger": {Consumers: []string{"mailer"}},
		"shop":   {Peers: []string{"ledger"}, OptionalPeers: []string{"catalog"}, Consumers: []string{"mailer"}},
		"mailer": {Publishers: []string{"ledger", "shop"}},
		"quiet":  {},
	} {
		got := d.Placement(name)
		if !slices.Equal(got.Peers, want.Peers) || !slices.Equal(got.OptionalPeers, want.OptionalPeers) ||
			!slices.Equal(got.Publishers, want.Publishers) || !slices.Equal(got.Consumers, want.Consumers) {
			t.Errorf("Placement(%s) = %+v, want %+v", name, got, want)
		}
	}
}

func TestMermaidDrawsCallsAndEvents(t *testing.T) {
	got := moduledoc.Mermaid(fixture())
	for _, line := range []string{
		"flowchart LR",
		`    quiet["quiet"]`,
		`    catalog["catalog"]`, // a peer the binary lacks is still a node
		`    shop -->|"calls"| ledger`,
		`    shop -.->|"calls (optional)"| catalog`,
		`    ledger ==>|"ledger.posted.v1<br/>ledger.closed.v1"| mailer`,
		`    shop ==>|"shop.sold.v1"| mailer`,
	} {
		if !slices.Contains(strings.Split(got, "\n"), line) {
			t.Errorf("the map lacks the line %q:\n%s", line, got)
		}
	}
	if n := strings.Count(got, "==>"); n != 2 {
		t.Errorf("%d event arrows, want 2 (one per publisher and consumer):\n%s", n, got)
	}
}

func TestMarkdownDocumentsEveryModuleTopicAndGateway(t *testing.T) {
	got := moduledoc.Markdown(fixture())
	for _, want := range []string{
		"`uberservice modules --format markdown`",
		"```mermaid\nflowchart LR\n",
		"| shop | 9002/9102 | yes | `ledger`, `catalog` (optional) | 1 topic | - |",
		"| quiet | 9004/9104 | no | - | - | - |",
		"### quiet\n\n- Ports: 9004, its public API; 9104, its internal API (the ops routes).\n- Database: none; it keeps no data.\n- Uses: no gateway.\n- Publishes: nothing.\n- Consumes: nothing.\n\nWhere it may run:\n\n" +
			"- Beside every other module, in one process, on any bus (the in-process gochannel too).\n- Alone, it needs no peer.\n\n",
		"Alone, it needs a peer for the `ledger` gateway",
		"It runs without the `catalog` gateway",
		"In another process than ledger, shop, it needs a bus that crosses processes",
		"(`--database-url ledger=URL`)",
		"### ledger.posted.v1\n\n- Publisher: ledger.\n- Consumers: mailer.\n- Payload: `moduledoc_test.posted`, as JSON:",
		"| `memo` | string | yes |",
		"| `items[].sku` | string | no |",
		"### ledger.closed.v1\n\n- Publisher: ledger.\n- Consumers: mailer.\n- Payload: not declared",
		"### ledger\n\n- Callers: shop.\n\n| Method | Route | Safe to send again |\n|---|---|---|\n| Post | `POST /gateway/ledger/v1/postings` | always |",
		"### catalog\n\n- Callers: shop (optional).\n- Methods: unknown",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the document lacks %q", want)
		}
	}
}

func TestAnEmptyBinaryIsDocumented(t *testing.T) {
	got := moduledoc.Markdown(moduledoc.New(nil, nil, nil))
	for _, want := range []string{"No module publishes or consumes events.", "No module provides or calls a gateway."} {
		if !strings.Contains(got, want) {
			t.Errorf("the document of no modules lacks %q", want)
		}
	}
}
