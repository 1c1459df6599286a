package main

import (
	"fmt"
	"strings"
	"time"
)

// scenario is what one scenario reports: its tables and targets for
// BENCHMARKS.md, and everything it measured, raw, for results.json.
type scenario struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Method   string   `json:"method"` // markdown: what is measured, and how
	Tables   []table  `json:"tables"`
	Targets  []target `json:"targets"`
	Notes    string   `json:"notes,omitempty"`    // markdown, after the tables
	Headline string   `json:"headline,omitempty"` // the result in a line, for a scenario with no target
	Commands []string `json:"commands,omitempty"`
	Raw      any      `json:"raw"`
	Seconds  float64  `json:"seconds"`
	LoadAvg  string   `json:"loadavg_at_start"`           // of the machine, when the scenario started
	MaxLoad  float64  `json:"max_loadavg"`                // the highest 1-minute load average seen while it ran
	Steal    float64  `json:"steal"`                      // share of the machine's CPU time the hypervisor gave to other guests
	Others   string   `json:"other_postgres_connections"` // seen while it ran: other test runs on the machine`
	Reduced  bool     `json:"reduced,omitempty"`          // ran once, not Runs times, to stay within the time budget
	Error    string   `json:"error,omitempty"`
}

type table struct {
	Caption string     `json:"caption,omitempty"`
	Header  []string   `json:"header"`
	Rows    [][]string `json:"rows"`
}

// target is a goal of the issue, set against what was measured. Targets are
// reported, never asserted.
type target struct {
	Name     string  `json:"name"`
	Goal     string  `json:"goal"`
	Measured string  `json:"measured"`
	Value    float64 `json:"value"`
	Limit    float64 `json:"limit"`
	Met      bool    `json:"met"`
	// Status is empty for a target measured against its goal; otherwise it
	// says why Met means nothing: reportedOnly or notMeasured.
	Status string `json:"status,omitempty"`
}

// The statuses of a row of the targets that is not judged.
const (
	// reportedOnly is a figure reported among the targets, with no goal.
	reportedOnly = "reported, no target"
	// notMeasured is a target this run could not measure.
	notMeasured = "not measured"
)

// verdict is what the report says of t: met, not met, or — for a row that
// is not judged.
func (t target) verdict() string {
	if t.Status != "" {
		return "—"
	}
	return met(t.Met)
}

// reported is a figure shown among the targets without a goal.
func reported(name string, value float64, unit string) target {
	return target{Name: name, Goal: "none (reported)", Measured: num(value) + unit, Value: value, Status: reportedOnly}
}

// unmeasured is a target with goal that this run did not measure, and why
// (e.g. "not measured (run with -before REV)").
func unmeasured(name, goal, why string) target {
	return target{Name: name, Goal: goal, Measured: why, Status: notMeasured}
}

// atMost is a target met when value <= limit.
func atMost(name string, value, limit float64, unit string) target {
	return target{Name: name, Goal: "≤ " + num(limit) + unit, Measured: num(value) + unit, Value: value, Limit: limit, Met: value <= limit}
}

// atLeast is a target met when value >= limit.
func atLeast(name string, value, limit float64, unit string) target {
	return target{Name: name, Goal: "≥ " + num(limit) + unit, Measured: num(value) + unit, Value: value, Limit: limit, Met: value >= limit}
}

// lessThan is a target met when value < limit.
func lessThan(name string, value, limit float64, unit string) target {
	return target{Name: name, Goal: "< " + num(limit) + unit, Measured: num(value) + unit, Value: value, Limit: limit, Met: value < limit}
}

// num formats a number with about three significant digits.
func num(v float64) string {
	a := v
	if a < 0 {
		a = -a
	}
	var s string
	switch {
	case a == 0:
		return "0"
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		s = fmt.Sprintf("%.1f", v)
	case a >= 1:
		s = fmt.Sprintf("%.2f", v)
	default:
		s = fmt.Sprintf("%.2g", v)
	}
	if strings.Contains(s, ".") && !strings.Contains(s, "e") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// msStr formats a duration in milliseconds.
func msStr(d time.Duration) string { return num(ms(d)) + " ms" }

func mb(bytes float64) float64 { return bytes / (1 << 20) }

func mbStr(bytes float64) string { return num(mb(bytes)) + " MiB" }

func pct(v float64) string { return num(v*100) + "%" }
