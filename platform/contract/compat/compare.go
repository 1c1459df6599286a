package compat

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// Change is one difference between a committed contract and the current one.
type Change struct {
	// Contract names what changed: "topic accounts.funds_deposited.v1",
	// "accounts.Get (GET /gateway/accounts/v1/accounts/{id})".
	Contract string
	// What says what changed, and for a breaking change whom it breaks.
	What     string
	Breaking bool
}

func (c Change) String() string { return c.Contract + ": " + c.What }

// Report is every change Compare found, in the contracts' order.
type Report []Change

// Breaking are the changes that break the other side of a contract.
func (r Report) Breaking() Report {
	return slices.DeleteFunc(slices.Clone(r), func(c Change) bool { return !c.Breaking })
}

// Additive are the changes that break no one.
func (r Report) Additive() Report {
	return slices.DeleteFunc(slices.Clone(r), func(c Change) bool { return c.Breaking })
}

// Fix says how to make a breaking change without breaking anyone.
const Fix = "A breaking change needs a new version of its contract, beside the old one:\n" +
	"publish the new payload on a new topic (accounts.funds_deposited.v2), serve the new\n" +
	"shape on a new route (/gateway/accounts/v2/...), keep the old one until nobody uses it,\n" +
	"then run `make contracts` and commit the result."

// String lists the breaking changes, with the fix, then the additive ones.
func (r Report) String() string {
	var b strings.Builder
	if br := r.Breaking(); len(br) > 0 {
		fmt.Fprintf(&b, "%d breaking change(s):\n", len(br))
		for _, c := range br {
			fmt.Fprintf(&b, "  - %s\n", c)
		}
		fmt.Fprintf(&b, "%s\n", Fix)
	}
	if add := r.Additive(); len(add) > 0 {
		fmt.Fprintf(&b, "%d additive change(s), which break no one:\n", len(add))
		for _, c := range add {
			fmt.Fprintf(&b, "  - %s\n", c)
		}
	}
	return b.String()
}

// role is who writes a schema's data and who reads it, which decides what
// breaks (see the package's doc).
type role int

const (
	request  role = iota // written by callers, read strictly by the provider
	response             // written by the provider, read by the caller that asked
	event                // written by a publisher, read by consumers, kept
)

// Compare lists the changes from the contracts committed to the current
// ones: old is what the other sides were built against.
func Compare(old, current Set) Report {
	var r Report
	topics := map[string]Event{}
	for _, e := range current.Events {
		topics[e.Topic] = e
	}
	for _, o := range old.Events {
		name := "topic " + o.Topic
		n, ok := topics[o.Topic]
		if !ok {
			r = append(r, Change{Contract: name, Breaking: true,
				What: "removed: its consumers still read it" + successor(o.Topic, slices.Collect(maps.Keys(topics)))})
			continue
		}
		delete(topics, o.Topic)
		r = append(r, schemaChanges(name, "", o.Payload, n.Payload, event)...)
	}
	for _, topic := range slices.Sorted(maps.Keys(topics)) {
		r = append(r, Change{Contract: "topic " + topic, What: "new topic"})
	}

	methods := map[string]Method{}
	for _, m := range current.Methods {
		methods[m.Gateway+" "+m.Route] = m
	}
	for _, o := range old.Methods {
		name := fmt.Sprintf("%s.%s (%s)", o.Gateway, o.Name, o.Route)
		n, ok := methods[o.Gateway+" "+o.Route]
		if !ok {
			what := "removed: its route is gone, and callers built against it still call it"
			for _, m := range current.Methods {
				if m.Gateway == o.Gateway && m.Name == o.Name {
					what += fmt.Sprintf("; it is now on %s: serve the old route beside it", m.Route)
				}
			}
			r = append(r, Change{Contract: name, What: what, Breaking: true})
			continue
		}
		delete(methods, o.Gateway+" "+o.Route)
		if n.Name != o.Name {
			r = append(r, Change{Contract: name, What: "renamed " + n.Name + " in the interface; the wire is the same"})
		}
		r = append(r, schemaChanges(name, "request", o.Request, n.Request, request)...)
		switch {
		case o.Status == n.Status:
			r = append(r, schemaChanges(name, "response", o.Response, n.Response, response)...)
		case n.Status == http.StatusNoContent:
			r = append(r, Change{Contract: name, Breaking: true,
				What: "response: answers no content now: its callers read the body it answered"})
		case o.Status == http.StatusNoContent:
			r = append(r, Change{Contract: name, What: "response: answers a body now"})
		}
	}
	for _, key := range slices.Sorted(maps.Keys(methods)) {
		m := methods[key]
		r = append(r, Change{Contract: fmt.Sprintf("%s.%s (%s)", m.Gateway, m.Name, m.Route), What: "new method"})
	}
	return r
}

// successor says which newer version of topic there is among topics, if
// any: publishing it is right, and still no reason to drop the old one.
func successor(topic string, topics []string) string {
	base, _, ok := cutVersion(topic)
	if !ok {
		return ""
	}
	slices.Sort(topics)
	for _, t := range topics {
		if b, _, ok := cutVersion(t); ok && b == base && t != topic {
			return fmt.Sprintf("; its new version %s is right, but the old one stays until nobody consumes it", t)
		}
	}
	return ""
}

// cutVersion splits "accounts.funds_deposited.v1" into its name and "v1".
func cutVersion(topic string) (base, version string, ok bool) {
	i := strings.LastIndex(topic, ".v")
	if i < 0 {
		return "", "", false
	}
	return topic[:i], topic[i+1:], true
}
