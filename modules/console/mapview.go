package console

import (
	"fmt"
	"html"
	"html/template"
	"math"
	"slices"
	"strings"
)

// The module map's geometry, in SVG user units.
const (
	nodeW, nodeH = 190, 74
	gapX, gapY   = 48, 84
	margin       = 24
)

type point struct{ x, y float64 }

// moduleMap draws the modules as the declarations connect them: an arrow
// from a module to each module whose gateway it calls (Uses; dashed when
// optional), and one from a publisher to each consumer of its topics. Each
// box says where its module runs and whether it is ready. Modules that call
// nobody sit on the bottom row, each caller above what it calls.
func moduleMap(instances []moduleView) template.HTML {
	// One box a module, however many instances it runs as.
	groups := byModule(instances)
	views := make([]moduleView, len(groups))
	for i, g := range groups {
		views[i] = g[0]
	}
	rows := layers(views)
	width := 0
	for _, r := range rows {
		width = max(width, len(r)*nodeW+(len(r)-1)*gapX)
	}
	width += 2 * margin
	height := 2*margin + len(rows)*nodeH + (len(rows)-1)*gapY + 24
	at := map[string]point{}
	for i, r := range rows {
		rowW := len(r)*nodeW + (len(r)-1)*gapX
		y := float64(margin + 24 + (len(rows)-1-i)*(nodeH+gapY) + nodeH/2)
		for j, name := range r {
			at[name] = point{float64((width-rowW)/2 + j*(nodeW+gapX) + nodeW/2), y}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="map" role="img" aria-label="module map" viewBox="0 0 %d %d" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg">`, width, height, width, height)
	b.WriteString(`<defs>` + marker("arrow-use", "use") + marker("arrow-event", "event") + `</defs>`)
	b.WriteString(`<g class="legend"><line x1="24" y1="14" x2="54" y2="14" class="edge use" marker-end="url(#arrow-use)"/><text x="60" y="18">calls the gateway of</text>` +
		`<line x1="210" y1="14" x2="240" y2="14" class="edge event" marker-end="url(#arrow-event)"/><text x="246" y="18">events to</text></g>`)
	for _, v := range views {
		for _, u := range v.Uses {
			if _, ok := at[u.Gateway]; !ok {
				continue
			}
			class := "use"
			if u.Optional {
				class += " optional"
			}
			edge(&b, at[v.Name], at[u.Gateway], 18, class, "arrow-use", v.Name+" calls the "+u.Gateway+" gateway")
		}
	}
	for _, e := range eventEdges(views) {
		edge(&b, at[e.from], at[e.to], -18, "event", "arrow-event", e.from+" → "+e.to+": "+strings.Join(e.topics, ", "))
	}
	for _, g := range groups {
		node(&b, g, at[g[0].Name])
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String()) // every text in it went through html.EscapeString
}

func marker(id, class string) string {
	return `<marker id="` + id + `" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">` +
		`<path d="M0,0 L10,5 L0,10 z" class="head ` + class + `"/></marker>`
}

// layers puts every module on a row: 0 for one that calls no module of the
// binary, one above the highest it calls otherwise.
func layers(views []moduleView) [][]string {
	uses := map[string][]string{}
	for _, v := range views {
		for _, u := range v.Uses {
			uses[v.Name] = append(uses[v.Name], u.Gateway)
		}
	}
	level := map[string]int{}
	var depth func(name string, seen []string) int
	depth = func(name string, seen []string) int {
		if l, ok := level[name]; ok {
			return l
		}
		l := 0
		for _, dep := range uses[name] {
			if !slices.Contains(seen, dep) && slices.ContainsFunc(views, func(v moduleView) bool { return v.Name == dep }) {
				l = max(l, depth(dep, append(seen, name))+1)
			}
		}
		level[name] = l
		return l
	}
	var rows [][]string
	for _, v := range views {
		l := depth(v.Name, nil)
		for len(rows) <= l {
			rows = append(rows, nil)
		}
		rows[l] = append(rows[l], v.Name)
	}
	return rows
}

type eventEdge struct {
	from, to string
	topics   []string
}

// eventEdges connects each topic's publisher to its consumers.
func eventEdges(views []moduleView) []eventEdge {
	var out []eventEdge
	for _, consumer := range views {
		for _, topic := range consumer.Consumes {
			i := slices.IndexFunc(views, func(v moduleView) bool { return slices.Contains(v.Publishes, topic) })
			if i < 0 {
				continue
			}
			from := views[i].Name
			j := slices.IndexFunc(out, func(e eventEdge) bool { return e.from == from && e.to == consumer.Name })
			if j < 0 {
				out = append(out, eventEdge{from: from, to: consumer.Name})
				j = len(out) - 1
			}
			out[j].topics = append(out[j].topics, topic)
		}
	}
	return out
}

// edge draws a curved arrow from box a to box c, bent by bend units, so
// that the two kinds of edge between two modules stay apart.
func edge(b *strings.Builder, a, c point, bend float64, class, arrow, title string) {
	dx, dy := c.x-a.x, c.y-a.y
	// The bend is to the left of the pair's own direction, whichever way
	// the arrow goes: two edges of a pair with bends of opposite signs then
	// stay apart, even when they point opposite ways.
	if a.x > c.x || a.x == c.x && a.y > c.y {
		bend = -bend
	}
	n := math.Hypot(dx, dy)
	if n == 0 {
		return
	}
	switch rows := math.Abs(dy) / (nodeH + gapY); {
	case rows < 0.1: // same row: bend more, over the boxes between
		bend *= 3
	case rows > 1.5: // past a row: around the boxes on it
		bend = math.Copysign(200, bend)
	}
	mid := point{(a.x + c.x) / 2, (a.y + c.y) / 2}
	ctl := point{mid.x - dy/n*bend, mid.y + dx/n*bend}
	if math.Abs(bend) >= 200 && (ctl.x-mid.x)*dx < 0 {
		// Round the boxes on the outside of the turn, not through them.
		ctl = point{mid.x + dy/n*bend, mid.y - dx/n*bend}
	}
	from, to := clipToBox(a, ctl), clipToBox(c, ctl)
	fmt.Fprintf(b, `<path d="M%.1f,%.1f Q%.1f,%.1f %.1f,%.1f" class="edge %s" marker-end="url(#%s)"><title>%s</title></path>`,
		from.x, from.y, ctl.x, ctl.y, to.x, to.y, class, arrow, html.EscapeString(title))
}

// clipToBox is where the line from the centre of a box at c towards p
// leaves the box (with a little room for the arrow head).
func clipToBox(c, p point) point {
	dx, dy := p.x-c.x, p.y-c.y
	hw, hh := float64(nodeW)/2+4, float64(nodeH)/2+4
	t := math.Inf(1)
	if dx != 0 {
		t = hw / math.Abs(dx)
	}
	if dy != 0 {
		t = min(t, hh/math.Abs(dy))
	}
	if math.IsInf(t, 1) {
		return c
	}
	return point{c.x + dx*t, c.y + dy*t}
}

// node draws a module's box: where its one instance runs, or how many it
// runs as, their versions and processes.
func node(b *strings.Builder, group []moduleView, c point) {
	v := group[0]
	x, y := c.x-nodeW/2, c.y-nodeH/2
	e := html.EscapeString
	ready, title := v.Ready, v.Name+": "+v.Ready+" "+v.Detail
	var states, versions, processes []string
	for _, in := range group {
		if in.Ready != "ready" && ready == "ready" {
			ready = in.Ready // a module is as ready as its least ready instance
		}
		states = append(states, strings.TrimSpace(in.Address+" "+in.Ready+" "+in.Detail))
		if !slices.Contains(versions, in.Stats.Version) {
			versions = append(versions, in.Stats.Version)
		}
		if in.Process != "" && !slices.Contains(processes, in.Process) {
			processes = append(processes, in.Process)
		}
	}
	if len(group) > 1 {
		title = v.Name + ": " + strings.Join(states, "; ")
	}
	fmt.Fprintf(b, `<g class="node %s" data-module="%s"><title>%s</title>`, e(ready), e(v.Name), e(title))
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%d" height="%d" rx="8"/>`, x, y, nodeW, nodeH)
	fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="6" class="dot"/>`, x+16, y+18)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="name">%s</text>`, x+30, y+23, e(v.Name))
	where := v.Where
	switch {
	case len(group) > 1:
		where += fmt.Sprintf(" · %d instances", len(group))
	case v.Address != "":
		where += " · " + v.Address
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="where">%s</text>`, x+12, y+44, e(where))
	facts := "v " + strings.Join(versions, ", ")
	if len(processes) > 0 {
		facts += " · process " + strings.Join(processes, ", ")
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="facts">%s</text></g>`, x+12, y+62, e(facts))
}
