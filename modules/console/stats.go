package console

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The series the console reads, as the metrics contract names them.
const (
	metricBuildInfo     = "uberservice_build_info"
	metricStartTime     = "process_start_time_seconds"
	metricRequests      = "uberservice_http_requests_total"
	metricDuration      = "uberservice_http_request_duration_seconds"
	metricBreaker       = "uberservice_gateway_breaker_state"
	metricOutboxPending = "uberservice_outbox_pending"
	metricOutboxOldest  = "uberservice_outbox_oldest_age_seconds"
	metricLag           = "uberservice_consumer_lag_seconds"
	metricDeadLetters   = "uberservice_dead_letters"
)

// none is what the console shows for a number it does not have: a series
// absent (a build without it, a module down) or a rate with no earlier
// scrape to compare with.
const none = "—"

// counters are a module's cumulative numbers at one scrape, kept until the
// next, whose difference with them is a rate over the interval.
type counters struct {
	at                 time.Time
	requests, failures float64
	durSum, durCount   float64
	lag                map[string][2]float64 // topic -> histogram sum, count
}

// stats are what the console shows of a module's metrics, formatted.
type stats struct {
	Version   string // none when unknown
	Instance  string // the process's instance id; "" from a binary that gives none
	StartTime float64
	Rate      string // requests a second
	Errors    string // the 5xx share of requests
	Latency   string // mean duration of a request
	Outbox    string // rows waiting, and the oldest's age
	Lag       []topicLag
	Breakers  []breaker
	Dead      string // dead letters, every status
	// Subscribed is what the consumers of every module of the process are
	// subscribed to; SaysSubscribed that the process tells (topicversions.go).
	Subscribed     []subscription
	SaysSubscribed bool
}

type topicLag struct{ Topic, Mean string }

// breaker is the state of one endpoint's breaker, of a gateway the module
// calls; Endpoint (host:port) is "" from a binary that gives none.
type breaker struct{ Gateway, Endpoint, State string }

// traffic says whether a request to route counts as the module's traffic:
// the probes, the scrapes and the ops routes are the operators' own looking,
// which would otherwise be most of what a quiet module serves.
func traffic(route string) bool {
	switch route {
	case "/healthz", "/readyz", "/metrics":
		return false
	}
	return !strings.HasPrefix(route, "/ops/")
}

// summarize reads module's numbers out of m, scraped at now; prev, when not
// nil, is the previous scrape's, for rates. It returns the view and the
// counters to keep for the next scrape.
func summarize(module string, m metrics, prev *counters, now time.Time) (stats, counters) {
	st := stats{Version: none, Rate: none, Errors: none, Latency: none, Outbox: none, Dead: none}
	if v, ok := m.label(metricBuildInfo, "version"); ok && v != "" {
		st.Version = v
	}
	st.Instance, _ = m.label(metricBuildInfo, "instance_id")
	st.StartTime, _ = m.value(metricStartTime)
	mod := map[string]string{"module": module}
	cur := counters{at: now, lag: map[string][2]float64{}}
	m.each(metricRequests, mod, func(s sample) {
		if !traffic(s.labels["route"]) {
			return
		}
		cur.requests += s.value
		if strings.HasPrefix(s.labels["code"], "5") {
			cur.failures += s.value
		}
	})
	_, haveRequests := m.sum(metricRequests, mod)
	m.each(metricDuration+"_sum", mod, func(s sample) {
		if traffic(s.labels["route"]) {
			cur.durSum += s.value
		}
	})
	m.each(metricDuration+"_count", mod, func(s sample) {
		if traffic(s.labels["route"]) {
			cur.durCount += s.value
		}
	})
	m.each(metricLag+"_sum", mod, func(s sample) {
		l := cur.lag[s.labels["topic"]]
		l[0] += s.value
		cur.lag[s.labels["topic"]] = l
	})
	m.each(metricLag+"_count", mod, func(s sample) {
		l := cur.lag[s.labels["topic"]]
		l[1] += s.value
		cur.lag[s.labels["topic"]] = l
	})
	// A counter that went down is a restarted process: the earlier scrape
	// says nothing of this one.
	if prev != nil && (cur.requests < prev.requests || cur.durCount < prev.durCount || !now.After(prev.at)) {
		prev = nil
	}
	if haveRequests {
		reqs, fails, sum, count := cur.requests, cur.failures, cur.durSum, cur.durCount
		if prev != nil {
			reqs, fails = reqs-prev.requests, fails-prev.failures
			sum, count = sum-prev.durSum, count-prev.durCount
			st.Rate = fmt.Sprintf("%.2f/s", reqs/now.Sub(prev.at).Seconds())
		}
		if reqs > 0 {
			st.Errors = fmt.Sprintf("%.1f%%", 100*fails/reqs)
		} else if prev != nil {
			st.Errors = "0.0%"
		}
		if count > 0 {
			st.Latency = duration(sum / count)
		}
	}
	if pending, ok := m.sum(metricOutboxPending, mod); ok {
		st.Outbox = fmt.Sprintf("%.0f", pending)
		if age, ok := m.sum(metricOutboxOldest, mod); ok && pending > 0 {
			st.Outbox += ", oldest " + duration(age)
		}
	}
	for _, topic := range sortedKeys(cur.lag) {
		l := cur.lag[topic]
		if prev != nil {
			if p, ok := prev.lag[topic]; ok && l[1] >= p[1] {
				l = [2]float64{l[0] - p[0], l[1] - p[1]}
			}
		}
		mean := none
		if l[1] > 0 {
			mean = duration(l[0] / l[1])
		}
		st.Lag = append(st.Lag, topicLag{Topic: topic, Mean: mean})
	}
	m.each(metricBreaker, mod, func(s sample) {
		st.Breakers = append(st.Breakers, breaker{Gateway: s.labels["gateway"], Endpoint: s.labels["endpoint"], State: breakerState(s.value)})
	})
	slices.SortFunc(st.Breakers, func(a, b breaker) int {
		return cmp.Or(strings.Compare(a.Gateway, b.Gateway), strings.Compare(a.Endpoint, b.Endpoint))
	})
	if dead, ok := m.sum(metricDeadLetters, mod); ok {
		st.Dead = fmt.Sprintf("%.0f", dead)
	}
	st.Subscribed, st.SaysSubscribed = subscriptions(m)
	return st, cur
}

// breakerState names a value of uberservice_gateway_breaker_state.
func breakerState(v float64) string {
	switch v {
	case 0:
		return "closed"
	case 1:
		return "half-open"
	case 2:
		return "open"
	}
	return none
}

// duration formats seconds for people: 850µs, 12.3ms, 1.52s, 3m20s.
func duration(seconds float64) string {
	d := time.Duration(seconds * float64(time.Second))
	switch {
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	case d < time.Minute:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
