// Package console is the operators' console: one page that shows every
// module of the deployment, where it runs, whether it is ready, its traffic,
// its backlog and its dead letters, replays a dead letter, and looks a
// request's trace up. It keeps no data of its own and calls no gateway: it
// reads what every module's internal API gives an operator (/readyz,
// /metrics, /ops/dead-letters, and for the shadows page /ops/effects of a
// live module and of its shadows), with the operator's own token, so that it
// can show and do nothing the operator could not without it.
package console

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/peerauth"
)

// Name is the module's name.
const Name = "console"

// Module declares the console to the runtime: no data, no gateway, no
// events. Its page is on its public port, 8085; its internal port serves
// the probes alone.
func Module() app.Module {
	return app.Module{Name: Name, Port: 8085, Observes: true, Init: initModule}
}

func initModule(_ context.Context, env *app.Env) error {
	c, err := newConsole(env.Placements, env.VerifyOperator, env.TraceUI(), env.Log)
	if err != nil {
		return err
	}
	c.shadows = env.ShadowPeers
	mount(env.HTTP, c)
	return nil
}

// console serves the pages. Its only state is the previous scrape of each
// module, for rates.
type console struct {
	placements func() []app.Placement
	verify     func(token string) (peerauth.Claims, error)
	traceUI    string                  // "" when no trace backend is configured
	shadows    func() []app.ShadowPeer // nil: none
	client     *http.Client
	pages      *template.Template
	log        *slog.Logger
	now        func() time.Time

	mu   sync.Mutex
	prev map[string]counters // module -> its previous scrape
}

func newConsole(placements func() []app.Placement, verify func(string) (peerauth.Claims, error), traceUI string, log *slog.Logger) (*console, error) {
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	return &console{
		placements: placements, verify: verify, traceUI: trimSlash(traceUI), log: log, pages: pages, now: time.Now,
		// Its own client, with no proxy: the modules' internal APIs are
		// reached directly, and every call carries its own deadline.
		client: &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}},
		prev:   map[string]counters{},
	}, nil
}
