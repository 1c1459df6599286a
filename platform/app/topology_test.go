package app

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestCheckTopologyRefusesWhatCannotWork(t *testing.T) {
	all := []Module{
		{Name: "accounts", Publishes: []string{"accounts.funds_deposited.v1"}},
		{Name: "im", Uses: deps("accounts"), Consumes: []string{"accounts.funds_deposited.v1"}},
		{Name: "portal", Uses: deps("accounts", "im")},
	}
	pick := func(names ...string) []Module {
		m, err := Select(all, names)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	cases := []struct {
		name     string
		selected []Module
		peers    map[string]string
		localBus bool
		want     []string // substrings of the refusal; none means accepted
	}{
		{"everything together", all, nil, true, nil},
		{"accounts alone", pick("accounts"), nil, true, nil},
		{"portal apart with peers", pick("portal"), map[string]string{"accounts": "http://a", "im": "http://i"}, true, nil},
		{"portal with no peers names both gateways", pick("portal"), nil, true,
			[]string{"portal needs the accounts gateway", "portal needs the im gateway", "--peer im=URL"}},
		{"im apart from accounts on the in-process bus", pick("im"), map[string]string{"accounts": "http://a"}, true,
			[]string{"im consumes accounts events"}},
		{"accounts here, im elsewhere on the in-process bus", pick("accounts"), map[string]string{"im": "http://i"}, true,
			[]string{"im runs elsewhere"}},
		{"im apart from accounts on a bus that reaches it", pick("im"), map[string]string{"accounts": "http://a"}, false, nil},
		{"a missing optional gateway is no problem", []Module{{Name: "portal", Uses: []Dependency{{Gateway: "accounts"}, {Gateway: "im", Optional: true}}}},
			map[string]string{"accounts": "http://a"}, true, nil},
		{"a missing required one still is", []Module{{Name: "portal", Uses: []Dependency{{Gateway: "accounts"}, {Gateway: "im", Optional: true}}}},
			nil, true, []string{"portal needs the accounts gateway"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkTopology(all, c.selected, c.peers, c.localBus)
			if len(c.want) == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var usage *UsageError
			if !errors.As(err, &usage) {
				t.Fatalf("got %v, want a UsageError", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("refusal %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestInitOrderPutsProvidersFirst(t *testing.T) {
	mods := []Module{
		{Name: "portal", Uses: deps("accounts", "im")},
		{Name: "im", Uses: deps("accounts")},
		{Name: "accounts"},
	}
	got, err := initOrder(mods)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range got {
		names = append(names, m.Name)
	}
	if strings.Join(names, ",") != "accounts,im,portal" {
		t.Fatalf("order %v", names)
	}
	if _, err := initOrder([]Module{{Name: "a", Uses: deps("b")}, {Name: "b", Uses: deps("a")}}); err == nil {
		t.Fatal("a cycle was accepted")
	}
}

func TestBackgroundWorkRunsUntilStop(t *testing.T) {
	started, stopped := make(chan struct{}), make(chan struct{})
	m := Module{Name: "bg", Init: func(_ context.Context, env *Env) error {
		env.Background(func(ctx context.Context) {
			close(started)
			<-ctx.Done()
			close(stopped)
		})
		return nil
	}}
	sys, err := Start(context.Background(), []Module{m}, Config{Listen: map[string]string{"bg": "127.0.0.1:0"}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("background work did not start")
	}
	if err := sys.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-stopped:
	default:
		t.Fatal("Stop returned before the background work did")
	}
}

// deps declares the required gateways names, as Deps does of gateway values.
func deps(names ...string) []Dependency {
	out := make([]Dependency, len(names))
	for i, n := range names {
		out[i] = Dependency{Gateway: n}
	}
	return out
}
