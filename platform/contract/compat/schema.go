package compat

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// maxDepth ends the walk of a recursive type.
const maxDepth = 32

// schemaChanges compares the schema old with current, of the data called
// part ("request", "response", or "" for an event's payload) of contract.
func schemaChanges(contract, part string, old, current Schema, r role) []Change {
	w := walk{contract: contract, part: part, role: r, oldRoot: old, newRoot: current}
	w.compare("", old, current, 0)
	return w.changes
}

type walk struct {
	contract, part   string
	role             role
	oldRoot, newRoot Schema
	changes          []Change
}

func (w *walk) add(breaking bool, format string, args ...any) {
	what := fmt.Sprintf(format, args...)
	if w.part != "" {
		what = w.part + ": " + what
	}
	w.changes = append(w.changes, Change{Contract: w.contract, What: what, Breaking: breaking})
}

// compare compares the schemas o and n of the value at path ("" for the
// root, "lines[].sku" for a field of an array's objects).
func (w *walk) compare(path string, o, n Schema, depth int) {
	if depth > maxDepth {
		return
	}
	o, n = resolve(w.oldRoot, o), resolve(w.newRoot, n)
	if so, sn := shape(o), shape(n); so != sn {
		w.add(true, "%s changed type from %s to %s: its readers expect the old one", subject(path), so, sn)
		return
	}
	if items, ok := o["items"].(map[string]any); ok {
		if nitems, ok := n["items"].(map[string]any); ok {
			w.compare(path+"[]", items, nitems, depth+1)
		}
	}
	if values, ok := o["additionalProperties"].(map[string]any); ok {
		if nvalues, ok := n["additionalProperties"].(map[string]any); ok {
			w.compare(path+"{}", values, nvalues, depth+1)
		}
	}
	oprops, nprops := properties(o), properties(n)
	oreq, nreq := required(o), required(n)
	for _, name := range slices.Sorted(maps.Keys(oprops)) {
		field := join(path, name)
		np, ok := nprops[name]
		if !ok {
			w.add(true, "field %q removed (or renamed): %s", field, w.removedBreaks())
			continue
		}
		w.compare(field, oprops[name], np, depth+1)
		switch {
		case !oreq[name] && nreq[name] && w.role != response:
			w.add(true, "field %q made required: %s", field, w.requiredBreaks())
		case oreq[name] && !nreq[name]:
			w.add(false, "field %q may be left out now", field)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(nprops)) {
		if _, ok := oprops[name]; ok {
			continue
		}
		field := join(path, name)
		switch {
		case nreq[name] && w.role != response:
			w.add(true, "new required field %q: %s", field, w.requiredBreaks())
		case nreq[name]:
			w.add(false, "new field %q", field)
		default:
			w.add(false, "new optional field %q", field)
		}
	}
}

// removedBreaks says whom a removed field breaks.
func (w *walk) removedBreaks() string {
	switch w.role {
	case request:
		return "old callers still send it, and the provider refuses unknown fields"
	case response:
		return "callers built against it read it"
	}
	return "its consumers read it"
}

// requiredBreaks says whom a field that must now be there breaks.
func (w *walk) requiredBreaks() string {
	if w.role == request {
		return "old callers do not send it"
	}
	return "events written before it (in the outbox, the broker, by a publisher not yet upgraded) lack it; make it omitempty or bump the topic's version"
}

// resolve follows s's $ref into root's $defs.
func resolve(root, s Schema) Schema {
	for range maxDepth {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		defs, _ := root["$defs"].(map[string]any)
		def, ok := defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any)
		if !ok {
			return s
		}
		s = def
	}
	return s
}

// shape is what a change of breaks its reader: the JSON type, with its
// format ("string (uuid)", "integer", "object").
func shape(s Schema) string {
	var t string
	switch v := s["type"].(type) {
	case string:
		t = v
	case []any:
		var ts []string
		for _, x := range v {
			ts = append(ts, fmt.Sprint(x))
		}
		slices.Sort(ts)
		t = strings.Join(ts, "|")
	default:
		if _, ok := s["properties"]; ok {
			t = "object"
		} else {
			t = "any"
		}
	}
	if f, ok := s["format"].(string); ok {
		t += " (" + f + ")"
	}
	return t
}

func properties(s Schema) map[string]Schema {
	out := map[string]Schema{}
	props, _ := s["properties"].(map[string]any)
	for name, p := range props {
		if ps, ok := p.(map[string]any); ok {
			out[name] = ps
		}
	}
	return out
}

func required(s Schema) map[string]bool {
	out := map[string]bool{}
	list, _ := s["required"].([]any)
	for _, name := range list {
		if n, ok := name.(string); ok {
			out[n] = true
		}
	}
	return out
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func subject(path string) string {
	if path == "" {
		return "the whole value"
	}
	return fmt.Sprintf("field %q", path)
}
