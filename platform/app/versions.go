package app

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/moduledoc"
)

// olderVersion is a topic a module publishes as the older version of
// another (see messaging.Versioned): its relay converts the newer one's
// events.
type olderVersion struct {
	Topic, Of, Publisher string
	Readers              []string // the modules of the binary that consume it
}

// olderVersions lists the older versions modules publish, in the order of
// their payloads.
func olderVersions(modules []Module) []olderVersion {
	var out []olderVersion
	for _, m := range modules {
		for _, p := range m.Payloads {
			for _, t := range messaging.Older(p) {
				v := olderVersion{Topic: t, Of: p.Topic(), Publisher: m.Name}
				for _, c := range modules {
					if slices.Contains(c.Consumes, t) {
						v.Readers = append(v.Readers, c.Name)
					}
				}
				out = append(out, v)
			}
		}
	}
	return out
}

// VersionInfo is an older version of a topic that a module publishes, in
// the Catalogue: Topic carries the events the module writes on Newest,
// converted. A program that knows the readers of both (the console, from
// the running instances' uberservice_consumer_subscribed) can tell who still
// reads the old version.
type VersionInfo struct {
	Topic  string `json:"topic"`
	Newest string `json:"newest"`
}

// versionInfos lists the older versions m publishes; never nil.
func versionInfos(m Module) []VersionInfo {
	out := []VersionInfo{}
	for _, v := range olderVersions([]Module{m}) {
		out = append(out, VersionInfo{Topic: v.Topic, Newest: v.Of})
	}
	return out
}

// markVersions marks in d the topics that are older versions of others.
func markVersions(d *moduledoc.Doc, modules []Module) {
	for _, v := range olderVersions(modules) {
		for i := range d.Topics {
			if d.Topics[i].Name == v.Topic {
				d.Topics[i].VersionOf = v.Of
			}
		}
	}
}

// writeVersions follows the table of `uberservice modules` with the older
// versions of topics still published and who reads them: what stands between
// a publisher and dropping an old version.
func writeVersions(out io.Writer, modules []Module) error {
	vs := olderVersions(modules)
	if len(vs) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString("\nOLDER VERSIONS (published by the relay from the newer one's events)\n")
	for _, v := range vs {
		readers := "no module of this binary"
		if len(v.Readers) > 0 {
			readers = strings.Join(v.Readers, ", ")
		}
		fmt.Fprintf(&b, "%s  of %s (%s)\n  still read by: %s\n", v.Topic, v.Of, v.Publisher, readers)
	}
	_, err := io.WriteString(out, b.String())
	return err
}
