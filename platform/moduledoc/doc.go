// Package moduledoc documents a binary's modules from their declarations, as
// Spring Modulith's Documenter does: the module map as a Mermaid flowchart,
// and a Markdown document that says of every module what it serves, calls,
// publishes and consumes and where it may run, of every topic who publishes
// and consumes it and its payload's fields, and of every gateway its methods
// and callers. `uberservice modules --format mermaid|markdown` renders them;
// docs/modules.md is the committed render.
//
// Being generated from the declarations the runtime enforces, the document
// cannot say what the code does not do.
package moduledoc

import (
	"slices"
	"strings"
)

// Doc is what the documents are rendered from: the modules, in the binary's
// order, and what New derives from them.
type Doc struct {
	Modules  []Module
	Topics   []Topic
	Gateways []Gateway
}

// Module is a module as it declares itself.
type Module struct {
	Name         string
	Port         int
	InternalPort int
	Database     bool // it keeps data, in a schema of its own
	Uses         []Use
	Publishes    []string
	Consumes     []string
}

// Use is a gateway a module calls; Optional says it runs without it.
type Use struct {
	Gateway  string
	Optional bool
}

// Topic is one topic of the binary's events.
type Topic struct {
	Name string
	// Publisher is the module that publishes it; "" when no module of the
	// binary does.
	Publisher string
	Consumers []string
	// Payload is the Go type of its events ("events.AccountCreated"); ""
	// when the publisher declares none, and Fields is then empty too.
	Payload string
	Fields  []Field
	// VersionOf is the newer version of the topic whose events the
	// publisher's relay publishes here too, converted, for the consumers that
	// still read this one; "" for a topic its publisher writes itself.
	VersionOf string
}

// Gateway is one gateway: a module's contract for the others.
type Gateway struct {
	Name string // its module's name
	// Methods are its methods, in its table's order; empty when no module
	// of the binary provides it.
	Methods []Method
	Callers []Caller
}

// Method is one method of a gateway.
type Method struct {
	Name  string
	Route string // "METHOD /path"
	Retry string // when a call may be sent again: always, never, ...
}

// Caller is a module that calls a gateway; Optional says it runs without it.
type Caller struct {
	Module   string
	Optional bool
}

// New documents modules. payloads gives, by topic, a value of the topic's
// event type (a struct), whose fields are documented; methods gives, by
// gateway, the methods of the gateways the modules provide.
func New(modules []Module, payloads map[string]any, methods map[string][]Method) Doc {
	d := Doc{Modules: modules}
	topic := map[string]int{} // name -> index in d.Topics
	add := func(name string) *Topic {
		return entry(&d.Topics, topic, name, func() Topic { return Topic{Name: name} })
	}
	for _, m := range modules {
		for _, name := range m.Publishes {
			t := add(name)
			t.Publisher = m.Name
			if p, ok := payloads[name]; ok {
				t.Payload, t.Fields = TypeName(p), Fields(p)
			}
		}
	}
	for _, m := range modules {
		for _, name := range m.Consumes {
			t := add(name)
			t.Consumers = append(t.Consumers, m.Name)
		}
	}

	gateway := map[string]int{} // name -> index in d.Gateways
	addGateway := func(name string) *Gateway {
		return entry(&d.Gateways, gateway, name, func() Gateway { return Gateway{Name: name} })
	}
	for _, m := range modules {
		if ms, ok := methods[m.Name]; ok {
			addGateway(m.Name).Methods = ms
		}
	}
	for _, m := range modules {
		for _, u := range m.Uses {
			g := addGateway(u.Gateway)
			g.Callers = append(g.Callers, Caller{Module: m.Name, Optional: u.Optional})
		}
	}
	return d
}

// Placement is what a module needs to run anywhere but beside every other
// module, as the runtime's topology check holds it (see app.checkTopology).
type Placement struct {
	// Peers are the gateways it needs: started without their module, it
	// must be given each one's URL (--peer NAME=URL).
	Peers []string
	// OptionalPeers are the gateways it runs without: their calls then
	// answer unavailable.
	OptionalPeers []string
	// Publishers are the modules whose events it consumes: started apart
	// from one of them, it needs a bus that crosses processes.
	Publishers []string
	// Consumers are the modules that consume its events: started apart from
	// one of them, it needs a bus that crosses processes too.
	Consumers []string
}

// Placement says where the module called name may run.
func (d Doc) Placement(name string) Placement {
	var p Placement
	for _, m := range d.Modules {
		if m.Name != name {
			continue
		}
		for _, u := range m.Uses {
			if u.Optional {
				p.OptionalPeers = append(p.OptionalPeers, u.Gateway)
			} else {
				p.Peers = append(p.Peers, u.Gateway)
			}
		}
	}
	for _, t := range d.Topics {
		publisher := t.Publisher
		if publisher == "" {
			publisher, _, _ = strings.Cut(t.Name, ".") // a topic is named after its context
		}
		for _, c := range t.Consumers {
			switch {
			case c == publisher:
			case c == name && !slices.Contains(p.Publishers, publisher):
				p.Publishers = append(p.Publishers, publisher)
			case publisher == name && !slices.Contains(p.Consumers, c):
				p.Consumers = append(p.Consumers, c)
			}
		}
	}
	return p
}

// entry returns the element of *list that index says is name's, appending
// the one made by make first when there is none: the topics and gateways are
// listed in the order the modules first name them.
func entry[T any](list *[]T, index map[string]int, name string, make func() T) *T {
	i, ok := index[name]
	if !ok {
		i = len(*list)
		index[name] = i
		*list = append(*list, make())
	}
	return &(*list)[i]
}
