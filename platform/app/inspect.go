package app

import (
	"context"
	"log/slog"
	"slices"

	"github.com/uberservice/uberservice/platform/contract"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/web"
)

// Inspection is what a module's Init does, as Inspect saw it.
type Inspection struct {
	// Handles are the topics it registers handlers for, sorted.
	Handles []string
	// Resolves are the gateways it asks Resolve for.
	Resolves []string
	// Provides are the gateways it provides.
	Provides []string
	// Methods are the methods of each gateway it provides, by gateway.
	Methods map[string][]contract.Description
}

// Inspect runs m's Init for what it registers, with no database, bus or
// peer: every gateway it resolves answers unavailable, and nothing runs. The
// boundary test holds each module's declaration to its Init this way, per
// topic and per gateway, without starting anything; Start holds it to the
// same rules (see checkHandlers).
func Inspect(ctx context.Context, m Module) (Inspection, error) {
	s := &System{cfg: Config{Log: slog.New(slog.DiscardHandler)}, log: slog.New(slog.DiscardHandler),
		local: map[string]any{}, inspecting: true}
	env := &Env{Module: m, Log: s.log, HTTP: web.New(m.Name, s.log), Internal: web.New(m.Name, s.log), sys: s}
	if m.Migrations != nil {
		env.Events = messaging.NewConsumers(m.Name, nil, messaging.RetryPolicy{}, s.log)
		env.Outbox = messaging.NewOutbox(m.Name, m.Publishes).WithVersions(messaging.NewVersions(m.Payloads))
	}
	if err := m.Init(ctx, env); err != nil {
		return Inspection{}, err
	}
	in := Inspection{Methods: s.methods}
	if env.Events != nil {
		in.Handles = env.Events.Topics()
	}
	for name := range s.local {
		in.Provides = append(in.Provides, name)
	}
	slices.Sort(in.Provides)
	in.Resolves = slices.Compact(slices.Sorted(slices.Values(s.resolved)))
	return in, nil
}

// describe records the methods of a gateway provided while inspecting, when
// the runtime holds nothing else of them; methods is called only then.
func (s *System) describe(gateway string, methods func() []contract.Description) {
	if !s.inspecting {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.methods == nil {
		s.methods = map[string][]contract.Description{}
	}
	s.methods[gateway] = methods()
}
