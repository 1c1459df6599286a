package moduledoc

import (
	"fmt"
	"strings"
)

// writeVersion says of a topic published in two versions which one it is,
// and of an older version who still reads it: the version can go once
// nobody does.
func writeVersion(b *strings.Builder, d Doc, t Topic) {
	if t.VersionOf != "" {
		readers := "none in this binary: once no deployed build reads it either, the publisher can stop publishing it"
		if len(t.Consumers) > 0 {
			readers = strings.Join(t.Consumers, ", ")
		}
		fmt.Fprintf(b, "- An older version of `%s`: its publisher writes that one, and its relay publishes each event here too, converted, with the same message id. Still read by: %s.\n",
			t.VersionOf, readers)
		return
	}
	var older []string
	for _, o := range d.Topics {
		if o.VersionOf == t.Name {
			older = append(older, "`"+o.Name+"`")
		}
	}
	if len(older) > 0 {
		fmt.Fprintf(b, "- Also published, converted, as its older version %s: a consumer's instances that read either version handle each event once between them.\n",
			strings.Join(older, ", "))
	}
}
