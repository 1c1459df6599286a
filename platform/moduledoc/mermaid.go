package moduledoc

import (
	"fmt"
	"slices"
	"strings"
)

// Mermaid is the module map as a Mermaid flowchart: a node per module (and
// per peer a module names that the binary lacks); a solid arrow "calls" from
// a module to each gateway it uses, dotted when it runs without it; and a
// thick arrow from a publisher to each consumer of its events, labelled with
// their topics.
func Mermaid(d Doc) string {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	var nodes []string
	node := func(name string) {
		if !slices.Contains(nodes, name) {
			nodes = append(nodes, name)
		}
	}
	for _, m := range d.Modules {
		node(m.Name)
	}
	for _, m := range d.Modules {
		for _, u := range m.Uses {
			node(u.Gateway)
		}
	}
	for _, e := range eventEdges(d) {
		node(e.from)
	}
	for _, n := range nodes {
		fmt.Fprintf(&b, "    %s[%s]\n", nodeID(n), quote(n))
	}
	for _, m := range d.Modules {
		for _, u := range m.Uses {
			arrow, label := "-->", "calls"
			if u.Optional {
				arrow, label = "-.->", "calls (optional)"
			}
			fmt.Fprintf(&b, "    %s %s|%s| %s\n", nodeID(m.Name), arrow, quote(label), nodeID(u.Gateway))
		}
	}
	for _, e := range eventEdges(d) {
		fmt.Fprintf(&b, "    %s ==>|%s| %s\n", nodeID(e.from), quote(strings.Join(e.topics, "<br/>")), nodeID(e.to))
	}
	return b.String()
}

// edge is the events one module publishes and another consumes.
type edge struct {
	from, to string
	topics   []string
}

// eventEdges groups the topics by publisher and consumer, in the order of
// the topics.
func eventEdges(d Doc) []edge {
	var out []edge
	for _, t := range d.Topics {
		from := t.Publisher
		if from == "" {
			from, _, _ = strings.Cut(t.Name, ".")
		}
		for _, to := range t.Consumers {
			i := slices.IndexFunc(out, func(e edge) bool { return e.from == from && e.to == to })
			if i < 0 {
				out = append(out, edge{from: from, to: to})
				i = len(out) - 1
			}
			out[i].topics = append(out[i].topics, t.Name)
		}
	}
	return out
}

// nodeID is name as a Mermaid node id: module names are [a-z][a-z0-9_]*,
// which is safe but for the words Mermaid reserves.
func nodeID(name string) string {
	switch name {
	case "end", "graph", "flowchart", "subgraph", "style", "class", "classDef", "click", "linkStyle", "direction", "default":
		return name + "_"
	}
	return name
}

// quote is s as a Mermaid string, which escapes a quote as an entity.
func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, "#quot;") + `"` }
