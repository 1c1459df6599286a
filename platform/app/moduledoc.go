package app

import (
	"context"
	"fmt"
	"slices"

	"github.com/uberservice/uberservice/platform/moduledoc"
)

// document is modules as package moduledoc documents them: their
// declarations, their payloads' types, and the methods of the gateways they
// provide, which Inspect learns by running each module's Init.
func document(ctx context.Context, modules []Module) (moduledoc.Doc, error) {
	var mods []moduledoc.Module
	for _, m := range catalogue(modules).Modules {
		d := moduledoc.Module{Name: m.Name, Port: m.Port, InternalPort: m.InternalPort, Database: m.Database,
			Publishes: m.Publishes, Consumes: m.Consumes}
		for _, u := range m.Uses {
			d.Uses = append(d.Uses, moduledoc.Use{Gateway: u.Gateway, Optional: u.Optional})
		}
		mods = append(mods, d)
	}
	payloads := map[string]any{}
	methods := map[string][]moduledoc.Method{}
	for _, m := range modules {
		for _, p := range m.Payloads {
			if !slices.Contains(m.Publishes, p.Topic()) {
				return moduledoc.Doc{}, fmt.Errorf("module %s declares the payload %T of %s, a topic it does not publish", m.Name, p, p.Topic())
			}
			payloads[p.Topic()] = p
		}
		in, err := Inspect(ctx, m)
		if err != nil {
			return moduledoc.Doc{}, fmt.Errorf("inspect module %s: %w", m.Name, err)
		}
		for gateway, ds := range in.Methods {
			for _, d := range ds {
				methods[gateway] = append(methods[gateway], moduledoc.Method{Name: d.Name, Route: d.Route, Retry: string(d.Retry)})
			}
		}
	}
	d := moduledoc.New(mods, payloads, methods)
	markVersions(&d, modules)
	return d, nil
}
