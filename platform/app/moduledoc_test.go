package app

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/uberservice/uberservice/platform/contract"
	"github.com/uberservice/uberservice/platform/messaging"
)

type ledger interface {
	Post(ctx context.Context, amount int64) (int64, error)
}

var ledgerGateway = contract.New("ledger", func(contract.Caller) ledger { return nil },
	contract.Method("Post", ledger.Post, "POST /gateway/ledger/v1/postings"))

type ledgerImpl struct{}

func (ledgerImpl) Post(_ context.Context, amount int64) (int64, error) { return amount, nil }

type posted struct {
	Amount int64 `json:"amount"`
}

func (posted) Topic() string { return "ledger.posted.v1" }

// docModules are modules of every kind: one that provides a gateway and
// publishes, one that calls it and another it runs without, one that only
// consumes, and one that declares nothing.
func docModules() []Module {
	none := func(context.Context, *Env) error { return nil }
	return []Module{
		{Name: "ledger", Port: 9001, Publishes: []string{"ledger.posted.v1"}, Payloads: []messaging.Event{posted{}},
			Init: func(_ context.Context, env *Env) error { Provide(env, ledgerGateway, ledger(ledgerImpl{})); return nil }},
		{Name: "shop", Port: 9002, Uses: deps("ledger"), Init: none},
		{Name: "kiosk", Port: 9003, Uses: append(deps("ledger"), Dependency{Gateway: "shop", Optional: true}), Init: none},
		{Name: "mailer", Port: 9004, Consumes: []string{"ledger.posted.v1"}, Init: none},
		{Name: "quiet", Port: 9005, Init: none},
	}
}

// What the document says a module needs where it runs is what the runtime's
// topology check holds it to: given the peers the document names, a module
// runs alone on a broker; without any one of them it does not; and on the
// in-process bus it runs apart only from modules whose events it neither
// consumes nor has consumed.
func TestPlacementAgreesWithTheTopologyCheck(t *testing.T) {
	all := docModules()
	d, err := document(t.Context(), all)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range all {
		p := d.Placement(m.Name)
		peers := map[string]string{}
		for _, g := range p.Peers {
			peers[g] = "http://" + g
		}
		alone := []Module{m}
		if err := checkTopology(all, alone, peers, false); err != nil {
			t.Errorf("%s alone with peers %v on a broker: %v", m.Name, p.Peers, err)
		}
		for _, g := range p.Peers {
			without := map[string]string{}
			for k, v := range peers {
				if k != g {
					without[k] = v
				}
			}
			if checkTopology(all, alone, without, false) == nil {
				t.Errorf("%s runs alone without a peer for %s, which the document says it needs", m.Name, g)
			}
		}
		elsewhere := map[string]string{}
		for _, other := range all {
			if other.Name != m.Name {
				elsewhere[other.Name] = "http://" + other.Name
			}
		}
		err := checkTopology(all, alone, elsewhere, true)
		if needsBroker := len(p.Publishers)+len(p.Consumers) > 0; needsBroker != (err != nil) {
			t.Errorf("%s apart on the in-process bus: document says it needs a broker: %v; the check says %v", m.Name, needsBroker, err)
		}
	}
}

func TestDocumentKnowsPayloadsAndMethods(t *testing.T) {
	d, err := document(t.Context(), docModules())
	if err != nil {
		t.Fatal(err)
	}
	if tp := d.Topics[0]; tp.Payload != "app.posted" || len(tp.Fields) != 1 || tp.Fields[0].Name != "amount" {
		t.Errorf("topic = %+v", tp)
	}
	if g := d.Gateways[0]; g.Name != "ledger" || len(g.Methods) != 1 || g.Methods[0].Route != "POST /gateway/ledger/v1/postings" ||
		g.Methods[0].Retry != "never" || len(g.Callers) != 2 {
		t.Errorf("gateway = %+v", g)
	}

	stray := docModules()
	stray[1].Payloads = []messaging.Event{posted{}}
	if _, err := document(t.Context(), stray); err == nil || !strings.Contains(err.Error(), "module shop declares the payload app.posted of ledger.posted.v1, a topic it does not publish") {
		t.Errorf("a payload of a topic the module does not publish: %v", err)
	}
}

func TestModulesCommandRendersEveryFormat(t *testing.T) {
	for format, want := range map[string]string{
		"table":    "kiosk ",
		"json":     `"name": "quiet"`,
		"mermaid":  `kiosk -.->|"calls (optional)"| shop`,
		"markdown": "### ledger.posted.v1",
	} {
		var out, errOut bytes.Buffer
		if code := run([]string{"modules", "--format", format}, docModules(), &out, &errOut); code != 0 || !strings.Contains(out.String(), want) {
			t.Errorf("modules --format %s: exit %d, %s; output lacks %q:\n%s", format, code, errOut.String(), want, out.String())
		}
	}
	var out, errOut bytes.Buffer
	if code := run([]string{"modules", "--format", "pdf"}, docModules(), &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "want table, json, mermaid or markdown") {
		t.Errorf("modules --format pdf: exit %d, %s", code, errOut.String())
	}
}
