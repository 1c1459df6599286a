package moduledoc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Markdown is the document of d: how it was made, the module map, then every
// module and where it may run, every topic with its payload, and every
// gateway with its methods and callers. docs/modules.md is this document for
// the binary's modules.
func Markdown(d Doc) string {
	var b strings.Builder
	b.WriteString(`# The modules

This document is generated from the modules' declarations (the app.Module value
of each module) by ` + "`uberservice modules --format markdown`" + `; ` + "`make docs`" + ` writes it
here. Do not edit it: change the declarations and run ` + "`make docs`" + `.
` + "`go test ./docs/`" + ` fails when it differs from a fresh render.

## Map

` + "```mermaid\n" + Mermaid(d) + "```\n" + `
A solid arrow is a module calling a gateway; a dotted one, a gateway the
module runs without. A thick arrow carries events from their publisher to a
consumer, labelled with their topics.
`)
	writeModules(&b, d)
	writeTopics(&b, d)
	writeGateways(&b, d)
	return b.String()
}

func writeModules(b *strings.Builder, d Doc) {
	b.WriteString("\n## Modules\n\n| Module | Ports (public/internal) | Database | Uses | Publishes | Consumes |\n|---|---|---|---|---|---|\n")
	for _, m := range d.Modules {
		fmt.Fprintf(b, "| %s | %d/%d | %s | %s | %s | %s |\n", m.Name, m.Port, m.InternalPort, yesNo(m.Database),
			orNone(uses(m.Uses), "-"), count(len(m.Publishes), "topic"), count(len(m.Consumes), "topic"))
	}
	for _, m := range d.Modules {
		fmt.Fprintf(b, "\n### %s\n\n", m.Name)
		internal := "the ops routes"
		if slices.ContainsFunc(d.Gateways, func(g Gateway) bool { return g.Name == m.Name && len(g.Methods) > 0 }) {
			internal = "its gateway and the ops routes"
		}
		fmt.Fprintf(b, "- Ports: %d, its public API; %d, its internal API (%s).\n", m.Port, m.InternalPort, internal)
		if m.Database {
			b.WriteString("- Database: it keeps data, in a schema of its own.\n")
		} else {
			b.WriteString("- Database: none; it keeps no data.\n")
		}
		fmt.Fprintf(b, "- Uses: %s.\n", orNone(uses(m.Uses), "no gateway"))
		fmt.Fprintf(b, "- Publishes: %s.\n", orNone(code(m.Publishes), "nothing"))
		fmt.Fprintf(b, "- Consumes: %s.\n", orNone(code(m.Consumes), "nothing"))
		b.WriteString("\nWhere it may run:\n\n")
		for _, line := range placement(m, d.Placement(m.Name)) {
			fmt.Fprintf(b, "- %s\n", line)
		}
	}
}

// placement says p in sentences: what m needs when it runs without the
// modules it depends on, as the runtime's topology check holds it.
func placement(m Module, p Placement) []string {
	out := []string{"Beside every other module, in one process, on any bus (the in-process gochannel too)."}
	if len(p.Peers) == 0 {
		out = append(out, "Alone, it needs no peer.")
	} else {
		out = append(out, fmt.Sprintf("Alone, it needs a peer for %s: without the module in its process, the URL of its internal API (%s); it does not start without.",
			gatewayList(p.Peers), flagList(p.Peers)))
	}
	if len(p.OptionalPeers) > 0 {
		out = append(out, fmt.Sprintf("It runs without %s: given neither the module nor a peer (%s), the calls answer unavailable.",
			gatewayList(p.OptionalPeers), flagList(p.OptionalPeers)))
	}
	if apart := union(p.Publishers, p.Consumers); len(apart) > 0 {
		var why []string
		if len(p.Publishers) > 0 {
			why = append(why, "it consumes events of "+strings.Join(p.Publishers, ", "))
		}
		if len(p.Consumers) > 0 {
			why = append(why, "its events are consumed by "+strings.Join(p.Consumers, ", "))
		}
		out = append(out, fmt.Sprintf("In another process than %s, it needs a bus that crosses processes (`--bus` nats://…, amqp://… or postgres; "+
			"the in-process gochannel cannot carry events between processes): %s.", strings.Join(apart, ", "), strings.Join(why, "; ")))
	}
	if m.Database {
		out = append(out, fmt.Sprintf("It needs a database: the shared one (`--database-url URL`) or its own (`--database-url %s=URL`).", m.Name))
	}
	return out
}

func writeTopics(b *strings.Builder, d Doc) {
	b.WriteString("\n## Topics\n")
	if len(d.Topics) == 0 {
		b.WriteString("\nNo module publishes or consumes events.\n")
	}
	for _, t := range d.Topics {
		fmt.Fprintf(b, "\n### %s\n\n", t.Name)
		fmt.Fprintf(b, "- Publisher: %s.\n", orNone(t.Publisher, "no module of the binary"))
		fmt.Fprintf(b, "- Consumers: %s.\n", orNone(strings.Join(t.Consumers, ", "), "none"))
		writeVersion(b, d, t)
		if t.Payload == "" {
			b.WriteString("- Payload: not declared (app.Module.Payloads).\n")
			continue
		}
		fmt.Fprintf(b, "- Payload: `%s`, as JSON:\n\n| Field | Type | Omitted when empty |\n|---|---|---|\n", t.Payload)
		for _, f := range t.Fields {
			fmt.Fprintf(b, "| `%s` | %s | %s |\n", f.Name, f.Type, yesNo(f.OmitEmpty))
		}
	}
}

func writeGateways(b *strings.Builder, d Doc) {
	b.WriteString("\n## Gateways\n")
	if len(d.Gateways) == 0 {
		b.WriteString("\nNo module provides or calls a gateway.\n")
	}
	for _, g := range d.Gateways {
		var callers []string
		for _, c := range g.Callers {
			if c.Optional {
				c.Module += " (optional)"
			}
			callers = append(callers, c.Module)
		}
		fmt.Fprintf(b, "\n### %s\n\n- Callers: %s.\n", g.Name, orNone(strings.Join(callers, ", "), "none"))
		if len(g.Methods) == 0 {
			b.WriteString("- Methods: unknown; no module of the binary provides it.\n")
			continue
		}
		b.WriteString("\n| Method | Route | Safe to send again |\n|---|---|---|\n")
		for _, m := range g.Methods {
			fmt.Fprintf(b, "| %s | `%s` | %s |\n", m.Name, m.Route, m.Retry)
		}
	}
}

func uses(us []Use) string {
	var out []string
	for _, u := range us {
		s := "`" + u.Gateway + "`"
		if u.Optional {
			s += " (optional)"
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

func code(items []string) string {
	if len(items) == 0 {
		return ""
	}
	return "`" + strings.Join(items, "`, `") + "`"
}

func gatewayList(names []string) string {
	s := "the " + code(names) + " gateway"
	if len(names) > 1 {
		s += "s"
	}
	return s
}

func flagList(names []string) string {
	var out []string
	for _, n := range names {
		out = append(out, "`--peer "+n+"=URL`")
	}
	return strings.Join(out, ", ")
}

func count(n int, noun string) string {
	switch n {
	case 0:
		return "-"
	case 1:
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func orNone(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// union is a followed by the strings of b it lacks.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
