package main

import (
	"slices"
	"testing"
)

// Every topic a module publishes has its payload declared, once, and only
// those: docs/modules.md documents each topic's fields from Module.Payloads,
// so an event type left out would be published undocumented.
func TestEveryPublishedTopicDeclaresItsPayload(t *testing.T) {
	for _, m := range modules {
		var declared []string
		for _, p := range m.Payloads {
			declared = append(declared, p.Topic())
		}
		for _, topic := range m.Publishes {
			switch n := occurrences(declared, topic); {
			case n == 0:
				t.Errorf("module %s publishes %s but declares no payload for it in Payloads (events.Payloads)", m.Name, topic)
			case n > 1:
				t.Errorf("module %s declares %d payloads for %s", m.Name, n, topic)
			}
		}
		for _, topic := range declared {
			if !slices.Contains(m.Publishes, topic) {
				t.Errorf("module %s declares a payload for %s, which it does not publish", m.Name, topic)
			}
		}
	}
}

func occurrences(items []string, s string) int {
	n := 0
	for _, it := range items {
		if it == s {
			n++
		}
	}
	return n
}
