package app

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Select returns the modules named in names, in the order of all; empty names
// selects every module. An unknown name is a UsageError listing the valid ones.
func Select(all []Module, names []string) ([]Module, error) {
	if len(names) == 0 {
		return all, nil
	}
	var valid []string
	for _, m := range all {
		valid = append(valid, m.Name)
	}
	for _, n := range names {
		if !slices.Contains(valid, n) {
			return nil, usagef("unknown module %q; valid modules: %s", n, strings.Join(valid, ", "))
		}
	}
	var out []Module
	for _, m := range all {
		if slices.Contains(names, m.Name) {
			out = append(out, m)
		}
	}
	return out, nil
}

// checkTopology refuses, before anything starts, a configuration that cannot
// work: a started module that needs a gateway whose module is neither started
// here nor given a peer URL, or events that would have to cross processes on
// the in-process bus, where they would silently be lost. An optional gateway
// may be missing: its calls answer unavailable. Every problem found is
// reported at once.
func checkTopology(all, selected []Module, peers map[string]string, localBus bool) error {
	here := map[string]bool{}
	for _, m := range selected {
		here[m.Name] = true
	}
	var problems []string
	for _, m := range selected {
		for _, dep := range m.Uses {
			if !dep.Optional && !here[dep.Gateway] && peers[dep.Gateway] == "" {
				problems = append(problems, fmt.Sprintf(
					"module %s needs the %s gateway, but %s is neither started here nor given a peer URL (--peer %s=URL)",
					m.Name, dep.Gateway, dep.Gateway, dep.Gateway))
			}
		}
		for _, producer := range producers(m.Consumes) {
			if localBus && !here[producer] {
				problems = append(problems, fmt.Sprintf(
					"module %s consumes %s events, but %s is not started in this process and the in-process bus cannot carry events between processes: start them together, or choose a broker with --bus",
					m.Name, producer, producer))
			}
		}
	}
	for _, m := range all {
		if !localBus || here[m.Name] || peers[m.Name] == "" {
			continue
		}
		for _, producer := range producers(m.Consumes) {
			if here[producer] {
				problems = append(problems, fmt.Sprintf(
					"module %s runs elsewhere (--peer %s) and consumes %s events, which the in-process bus cannot carry to it: start them together, or choose a broker with --bus",
					m.Name, m.Name, producer))
			}
		}
	}
	if len(problems) > 0 {
		return usagef("this configuration cannot work:\n  - %s", strings.Join(problems, "\n  - "))
	}
	return nil
}

// producers lists the contexts whose topics are among topics, in order: a
// topic is named after its context ("accounts.funds_deposited.v1").
func producers(topics []string) []string {
	var out []string
	for _, t := range topics {
		ctx, _, _ := strings.Cut(t, ".")
		if !slices.Contains(out, ctx) {
			out = append(out, ctx)
		}
	}
	return out
}

// initOrder orders modules so that each comes after the local modules whose
// gateways it uses.
func initOrder(mods []Module) ([]Module, error) {
	byName := map[string]Module{}
	for _, m := range mods {
		byName[m.Name] = m
	}
	var out []Module
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(m Module, path []string) error
	visit = func(m Module, path []string) error {
		switch state[m.Name] {
		case 1:
			return usagef("modules depend on each other in a cycle: %s", strings.Join(append(path, m.Name), " -> "))
		case 2:
			return nil
		}
		state[m.Name] = 1
		var deps []string
		for _, d := range m.Uses {
			deps = append(deps, d.Gateway)
		}
		sort.Strings(deps)
		for _, dep := range deps {
			if d, ok := byName[dep]; ok {
				if err := visit(d, append(path, m.Name)); err != nil {
					return err
				}
			}
		}
		state[m.Name] = 2
		out = append(out, m)
		return nil
	}
	for _, m := range mods {
		if err := visit(m, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// missing lists the strings of want that are not in have, in want's order.
func missing(want, have []string) []string {
	var out []string
	for _, s := range want {
		if !slices.Contains(have, s) {
			out = append(out, s)
		}
	}
	return out
}
