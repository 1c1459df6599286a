package console

import "github.com/uberservice/uberservice/platform/app"

// # Several instances of a module
//
// A module behind one peer may run as several instances (--peer
// 'accounts=URL1;weight=90,URL2;weight=10;version=next': a canary beside
// the stable one). The console scrapes each as a module of its own, so that
// each shows its own readiness, version, process and numbers: the table has
// a row per instance, the map one box per module that says how many.

// instanceViews is a view for every instance of every module, in the order
// of the placements and of each one's endpoints; a module that runs nowhere
// known has one view, with no URL.
func instanceViews(places []app.Placement) []moduleView {
	var out []moduleView
	for _, p := range places {
		eps := p.Endpoints
		if len(eps) == 0 && p.URL != "" {
			// A placement from before there could be several.
			eps = []app.Endpoint{{URL: p.URL, Weight: 1}}
		}
		if len(eps) == 0 {
			out = append(out, newView(p, 1))
			continue
		}
		for _, ep := range eps {
			v := newView(p, len(eps))
			v.URL, v.Weight, v.Label = ep.URL, ep.Weight, ep.Version
			out = append(out, v)
		}
	}
	return out
}

func newView(p app.Placement, instances int) moduleView {
	return moduleView{Placement: p, Where: "unknown", Ready: "unknown", Instances: instances,
		Stats: stats{Version: none, Rate: none, Errors: none, Latency: none, Outbox: none, Dead: none}}
}

// byModule groups the views of each module's instances, in the order of
// their first, for what shows a module once (the map).
func byModule(views []moduleView) [][]moduleView {
	var out [][]moduleView
	at := map[string]int{}
	for _, v := range views {
		i, ok := at[v.Name]
		if !ok {
			i = len(out)
			at[v.Name] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], v)
	}
	return out
}

// deadLetterSources is, for each module, the one instance whose dead
// letters the console reads: the first ready one, or the first when none
// is (whose failure the page then reports). The instances of a module
// share one database, and so one dead-letter table: reading each would
// list every dead letter once per instance.
func deadLetterSources(views []moduleView) []moduleView {
	var out []moduleView
	for _, group := range byModule(views) {
		pick := group[0]
		for _, v := range group {
			if v.Ready == "ready" {
				pick = v
				break
			}
		}
		out = append(out, pick)
	}
	return out
}
