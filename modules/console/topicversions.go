package console

import (
	"cmp"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// metricSubscribed is 1 for every topic a module's consumers are subscribed
// to in the scraped process (see platform/metrics).
const metricSubscribed = "uberservice_consumer_subscribed"

// subscription is a topic a module's consumers read in a scraped process.
// A process's /metrics are the whole process's, so the scrape of one module
// tells of every module that runs beside it.
type subscription struct{ Module, Topic string }

// subscriptions reads who is subscribed to what in m, and whether m says at
// all: a binary older than the gauge does not.
func subscriptions(m metrics) ([]subscription, bool) {
	var out []subscription
	known := false
	m.each(metricSubscribed, nil, func(s sample) {
		known = true
		if s.value == 1 {
			out = append(out, subscription{Module: s.labels["module"], Topic: s.labels["topic"]})
		}
	})
	return out, known
}

// topicFamily is a topic of several versions and who reads each, as the
// dashboard's "Topic versions" shows it.
type topicFamily struct {
	Name     string // the topic without its version: accounts.funds_deposited
	Versions []topicVersion
}

type topicVersion struct {
	Topic   string
	Readers []topicReader // none: no one the console can see reads it
}

// topicReader is a module that reads a version, and the process it runs in.
type topicReader struct {
	Module   string
	Process  string // the dashboard's name of the process; "" when unknown
	Instance string // from uberservice_build_info; "" when unknown
	Version  string // the binary's version; none when unknown
	// Declared says the console only knows the module declares the topic
	// (its catalogue): its process did not answer, or does not tell what it
	// is subscribed to.
	Declared bool
}

// versionSuffix is how a topic names its version: accounts.funds_deposited.v2.
var versionSuffix = regexp.MustCompile(`\.v([0-9]+)$`)

// topicFamilies gathers every topic of more than one version, from the
// console's catalogue (what modules publish and consume, and the older
// versions they publish) and from what the running processes say they read,
// and who reads each version. During a rolling upgrade the old instances of
// a module read the old version: only their processes know, and this is
// where the operator sees when no one reads it any more.
func topicFamilies(views []moduleView) []topicFamily {
	topics := map[string]bool{}
	for _, v := range views {
		for _, t := range slices.Concat(v.Publishes, v.Consumes) {
			topics[t] = true
		}
		for _, ov := range v.Versions {
			topics[ov.Topic], topics[ov.Newest] = true, true
		}
		for _, s := range v.Stats.Subscribed {
			topics[s.Topic] = true
		}
	}
	readers := map[string][]topicReader{}
	seen := map[string]bool{} // process, module and topic: once, though every module of a process says it
	for _, v := range views {
		switch {
		case v.Metrics && v.Stats.SaysSubscribed:
			for _, s := range v.Stats.Subscribed {
				key := cmp.Or(v.Stats.Instance, v.Process, v.Address) + "\x00" + s.Module + "\x00" + s.Topic
				if seen[key] {
					continue
				}
				seen[key] = true
				readers[s.Topic] = append(readers[s.Topic], topicReader{
					Module: s.Module, Process: v.Process, Instance: v.Stats.Instance, Version: v.Stats.Version,
				})
			}
		case v.Where != "unknown":
			// Its process cannot say: what it declares is all there is.
			for _, t := range v.Consumes {
				readers[t] = append(readers[t], topicReader{Module: v.Name, Process: v.Process,
					Instance: v.Stats.Instance, Version: v.Stats.Version, Declared: true})
			}
		}
	}
	families := map[string][]string{}
	for t := range topics {
		if name, ok := strings.CutSuffix(t, versionSuffix.FindString(t)); ok && name != t {
			families[name] = append(families[name], t)
		}
	}
	var out []topicFamily
	for _, name := range sortedKeys(families) {
		ts := families[name]
		if len(ts) < 2 {
			continue
		}
		slices.SortFunc(ts, func(a, b string) int { return cmp.Compare(versionOf(a), versionOf(b)) })
		f := topicFamily{Name: name}
		for _, t := range ts {
			rs := readers[t]
			slices.SortFunc(rs, func(a, b topicReader) int {
				return cmp.Or(strings.Compare(a.Module, b.Module), strings.Compare(a.Process, b.Process), strings.Compare(a.Instance, b.Instance))
			})
			f.Versions = append(f.Versions, topicVersion{Topic: t, Readers: rs})
		}
		out = append(out, f)
	}
	return out
}

// versionOf is the number of a topic's version: 2 for ….v2.
func versionOf(topic string) int {
	m := versionSuffix.FindStringSubmatch(topic)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
