package console

import (
	"os"
	"reflect"
	"testing"
	"time"
)

func readFixture(t *testing.T, name string) metrics {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := parseMetrics(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestParseMetrics(t *testing.T) {
	m := readFixture(t, "metrics-1.txt")
	if v, ok := m.label(metricBuildInfo, "version"); !ok || v != "1.4.2" {
		t.Errorf("version = %q, %v", v, ok)
	}
	if v, ok := m.value(metricStartTime); !ok || v != 1.76e9 {
		t.Errorf("start time = %v, %v", v, ok)
	}
	var escaped sample
	m.each("label_escape", nil, func(s sample) { escaped = s })
	if want := `a "quoted" \ value, with} brace`; escaped.labels["msg"] != want || escaped.labels["module"] != "im" {
		t.Errorf("escaped labels = %q", escaped.labels)
	}
	if _, ok := m.value("odd"); ok {
		t.Error("a line without a value was read")
	}
	if n, _ := m.sum(metricRequests, map[string]string{"module": "im"}); n != 600 {
		t.Errorf("im's requests = %v, want 600", n)
	}
}

// The numbers of a module come from its own series only; rates from the
// difference with the previous scrape; the probes and scrapes are no traffic.
func TestSummarize(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	first, kept := summarize("im", readFixture(t, "metrics-1.txt"), nil, t0)
	want := stats{
		Version: "1.4.2", StartTime: 1.76e9, Rate: none, Errors: "10.0%", Latency: "25ms", Outbox: "3, oldest 12.5s",
		Lag:      []topicLag{{Topic: "accounts.funds_deposited.v1", Mean: "50ms"}},
		Breakers: []breaker{{"accounts", "127.0.0.1:9081", "open"}, {"accounts", "127.0.0.1:9181", "closed"}}, Dead: "3",
	}
	if !reflect.DeepEqual(first, want) {
		t.Errorf("first scrape:\n got %+v\nwant %+v", first, want)
	}
	second, _ := summarize("im", readFixture(t, "metrics-2.txt"), &kept, t0.Add(10*time.Second))
	want.Rate, want.Errors, want.Latency = "10.00/s", "10.0%", "10ms"
	want.Lag = []topicLag{{Topic: "accounts.funds_deposited.v1", Mean: "500ms"}}
	if !reflect.DeepEqual(second, want) {
		t.Errorf("second scrape:\n got %+v\nwant %+v", second, want)
	}
	// A restarted process: its counters went down, and the old scrape says
	// nothing of it.
	restarted, _ := summarize("im", readFixture(t, "metrics-1.txt"), &counters{at: t0, requests: 1e6}, t0.Add(time.Second))
	if restarted.Rate != none {
		t.Errorf("rate across a restart = %s", restarted.Rate)
	}
}

// A build without the metrics shows "—" everywhere, never zeros.
func TestSummarizeWithoutMetrics(t *testing.T) {
	got, _ := summarize("accounts", nil, nil, time.Now())
	want := stats{Version: none, Rate: none, Errors: none, Latency: none, Outbox: none, Dead: none}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	other, _ := summarize("accounts", readFixture(t, "metrics-1.txt"), nil, time.Now())
	if other.Outbox != none || other.Dead != none || len(other.Breakers) != 0 || other.Rate != none || other.Errors != "0.0%" && other.Errors != none {
		t.Errorf("accounts shows im's numbers: %+v", other)
	}
}

func TestGroupProcesses(t *testing.T) {
	views := []moduleView{
		{Address: "10.0.0.1:9081", Metrics: true, Stats: stats{StartTime: 100.25}},
		{Address: "10.0.0.1:9082", Metrics: true, Stats: stats{StartTime: 100.25}},
		{Address: "10.0.0.2:9083", Metrics: true, Stats: stats{StartTime: 100.25}},
		{Address: "10.0.0.1:9084"},
	}
	views[3].Here = true
	groupProcesses(views)
	var got []string
	for _, v := range views {
		got = append(got, v.Process)
	}
	if want := []string{"A", "A", "B", "C"}; !reflect.DeepEqual(got, want) {
		t.Errorf("processes = %q, want %q", got, want)
	}
}

// Two processes of one host started in the same hundredth of a second are
// told apart by their instance ids, and one process's modules kept together.
func TestGroupProcessesByInstance(t *testing.T) {
	views := []moduleView{
		{Address: "127.0.0.1:9081", Metrics: true, Stats: stats{Instance: "p1", StartTime: 100.25}},
		{Address: "127.0.0.1:9082", Metrics: true, Stats: stats{Instance: "p2", StartTime: 100.25}},
		{Address: "127.0.0.1:9083", Metrics: true, Stats: stats{Instance: "p1", StartTime: 100.25}},
	}
	groupProcesses(views)
	var got []string
	for _, v := range views {
		got = append(got, v.Process)
	}
	if want := []string{"A", "B", "A"}; !reflect.DeepEqual(got, want) {
		t.Errorf("processes = %q, want %q", got, want)
	}
}
