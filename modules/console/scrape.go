package console

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// A sample is one line of Prometheus's text exposition format: a series and
// its value. The console reads a handful of series (see the metrics
// contract, docs of platform/metrics), so a small reader of the text format
// does, rather than a dependency on the client library's parser.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// metrics are the samples of one scrape.
type metrics []sample

// parseMetrics reads the text exposition format: comments and blank lines
// are skipped, a line that does not parse is skipped too (the console shows
// what it can, never fails a page on one odd line); a read error is
// returned.
func parseMetrics(r io.Reader) (metrics, error) {
	var out metrics
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		if s, ok := parseLine(line); ok {
			out = append(out, s)
		}
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read metrics: %w", err)
	}
	return out, nil
}

// parseLine parses `name{a="b",c="d"} value [timestamp]`.
func parseLine(line string) (sample, bool) {
	s := sample{labels: map[string]string{}}
	i := strings.IndexAny(line, "{ \t")
	if i <= 0 {
		return s, false
	}
	s.name, line = line[:i], line[i:]
	if line[0] == '{' {
		rest, ok := parseLabels(line[1:], s.labels)
		if !ok {
			return s, false
		}
		line = rest
	}
	fields := strings.Fields(line)
	if len(fields) == 0 {
		return s, false
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return s, false
	}
	s.value = v
	return s, true
}

// parseLabels reads `a="b",c="d"}` into into and returns what follows '}'.
func parseLabels(in string, into map[string]string) (string, bool) {
	for {
		in = strings.TrimLeft(in, " ,")
		if strings.HasPrefix(in, "}") {
			return in[1:], true
		}
		eq := strings.IndexByte(in, '=')
		if eq <= 0 || len(in) < eq+2 || in[eq+1] != '"' {
			return "", false
		}
		name := strings.TrimSpace(in[:eq])
		in = in[eq+2:]
		var val strings.Builder
		closed := false
		for i := 0; i < len(in); i++ {
			c := in[i]
			if c == '\\' && i+1 < len(in) {
				i++
				switch in[i] {
				case 'n':
					val.WriteByte('\n')
				default:
					val.WriteByte(in[i])
				}
				continue
			}
			if c == '"' {
				in, closed = in[i+1:], true
				break
			}
			val.WriteByte(c)
		}
		if !closed {
			return "", false
		}
		into[name] = val.String()
	}
}

// match reports whether s carries every label of want with its value.
func (s sample) match(want map[string]string) bool {
	for k, v := range want {
		if s.labels[k] != v {
			return false
		}
	}
	return true
}

// sum adds the values of the series called name that carry every label of
// want, and says whether there was any.
func (m metrics) sum(name string, want map[string]string) (float64, bool) {
	total, found := 0.0, false
	for _, s := range m {
		if s.name == name && s.match(want) && !math.IsNaN(s.value) {
			total += s.value
			found = true
		}
	}
	return total, found
}

// each calls f for every series called name that carries the labels of want.
func (m metrics) each(name string, want map[string]string, f func(sample)) {
	for _, s := range m {
		if s.name == name && s.match(want) {
			f(s)
		}
	}
}

// label returns the value of label of the first series called name, if any.
func (m metrics) label(name, label string) (string, bool) {
	for _, s := range m {
		if s.name == name {
			v, ok := s.labels[label]
			return v, ok
		}
	}
	return "", false
}

// value returns the value of the first series called name, if any.
func (m metrics) value(name string) (float64, bool) {
	for _, s := range m {
		if s.name == name {
			return s.value, true
		}
	}
	return 0, false
}
