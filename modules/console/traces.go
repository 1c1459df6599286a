package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/uberservice/uberservice/platform/correlation"
)

// traceTimeout bounds a look-up in the trace backend.
const traceTimeout = 3 * time.Second

var traceIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// traceView is the answer to a trace look-up, for the page.
type traceView struct {
	Query   string
	Backend string // the trace UI's base URL; "" when none is configured
	Problem string // why there is no trace to show
	TraceID string
	Link    string // the trace in the backend's own UI
	Spans   []spanRow
}

// spanRow is a span in the tree of its trace, depth-first.
type spanRow struct {
	Depth     int
	Service   string
	Operation string
	Duration  string
	Offset    string // from the start of the trace
	Error     bool
	// Left and Width place the span's bar on the trace's time line, in
	// percent.
	Left, Width float64
}

// Indent is the span's indentation class, d0 to d9: the stylesheet's, since
// the page allows no inline style.
func (s spanRow) Indent() int { return min(s.Depth, 9) }

// jaegerTrace is a trace as Jaeger's query API (GET /api/traces/{id})
// gives it.
type jaegerTrace struct {
	TraceID string `json:"traceID"`
	Spans   []struct {
		SpanID        string `json:"spanID"`
		OperationName string `json:"operationName"`
		References    []struct {
			RefType string `json:"refType"`
			SpanID  string `json:"spanID"`
		} `json:"references"`
		StartTime int64  `json:"startTime"` // µs since the epoch
		Duration  int64  `json:"duration"`  // µs
		ProcessID string `json:"processID"`
		Tags      []struct {
			Key   string `json:"key"`
			Value any    `json:"value"`
		} `json:"tags"`
	} `json:"spans"`
	Processes map[string]struct {
		ServiceName string `json:"serviceName"`
	} `json:"processes"`
}

// lookUpTrace finds query, a trace id (32 hex digits) or a correlation id,
// in the trace backend; services are the names spans of the modules carry,
// searched for a correlation id.
func (c *console) lookUpTrace(ctx context.Context, query string, services []string) traceView {
	v := traceView{Query: query, Backend: c.traceUI}
	query = strings.TrimSpace(query)
	isTrace := traceIDPattern.MatchString(strings.ToLower(query))
	if isTrace {
		query = strings.ToLower(query)
	} else if !correlation.Valid(query) {
		v.Problem = "Neither a trace id (32 hex digits) nor a correlation id."
		return v
	}
	if c.traceUI == "" {
		v.Problem = "No trace backend is configured (--trace-ui URL, env UBERSERVICE_TRACE_UI): the console knows no trace. " +
			"A correlation id still finds a request's lines in the modules' logs (correlation_id)."
		return v
	}
	ctx, cancel := context.WithTimeout(ctx, traceTimeout)
	defer cancel()
	id := query
	if !isTrace {
		found, err := c.traceOfCorrelation(ctx, query, services)
		if err != nil {
			v.Problem = err.Error()
			return v
		}
		if found == "" {
			v.Problem = "No trace carries the correlation id " + query + "."
			return v
		}
		id = found
	}
	t, err := c.fetchTrace(ctx, id)
	if err != nil {
		v.Problem = err.Error()
		return v
	}
	if t == nil {
		v.Problem = "The trace backend knows no trace " + id + "."
		return v
	}
	v.TraceID, v.Link, v.Spans = id, c.traceUI+"/trace/"+id, spanTree(t)
	return v
}

// traceOfCorrelation asks the backend, service by service, for a trace whose
// spans carry the correlation id.
func (c *console) traceOfCorrelation(ctx context.Context, id string, services []string) (string, error) {
	tags, err := json.Marshal(map[string]string{correlation.MetadataKey: id})
	if err != nil {
		return "", fmt.Errorf("trace backend: %w", err)
	}
	for _, svc := range services {
		q := url.Values{"service": {svc}, "tags": {string(tags)}, "limit": {"1"}}
		traces, err := c.jaeger(ctx, "/api/traces?"+q.Encode())
		if err != nil {
			return "", err
		}
		if len(traces) > 0 && traces[0].TraceID != "" {
			return traces[0].TraceID, nil
		}
	}
	return "", nil
}

// fetchTrace returns trace id, or nil when the backend does not know it.
func (c *console) fetchTrace(ctx context.Context, id string) (*jaegerTrace, error) {
	traces, err := c.jaeger(ctx, "/api/traces/"+id)
	if err != nil || len(traces) == 0 {
		return nil, err
	}
	return &traces[0], nil
}

// jaeger GETs path of the query API; a 404 is no trace.
func (c *console) jaeger(ctx context.Context, path string) ([]jaegerTrace, error) {
	status, body, err := c.get(ctx, c.traceUI+path, "")
	if err != nil {
		return nil, fmt.Errorf("trace backend: %w", err)
	}
	if status == http.StatusNotFound {
		return nil, nil
	}
	if status != http.StatusOK {
		return nil, fmt.Errorf("trace backend: answered %d: %s", status, clip(string(body), 200))
	}
	var res struct {
		Data []jaegerTrace `json:"data"`
	}
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, fmt.Errorf("trace backend: %w", err)
	}
	return res.Data, nil
}

// spanTree orders t's spans as the path of the request: each after its
// parent, siblings by start. A span whose parent is missing from the trace
// is a root.
func spanTree(t *jaegerTrace) []spanRow {
	if len(t.Spans) == 0 {
		return nil
	}
	children := map[string][]int{}
	var roots []int
	ids := map[string]bool{}
	for _, s := range t.Spans {
		ids[s.SpanID] = true
	}
	start, end := t.Spans[0].StartTime, int64(0)
	for i, s := range t.Spans {
		start = min(start, s.StartTime)
		end = max(end, s.StartTime+s.Duration)
		parent := ""
		for _, r := range s.References {
			if r.RefType == "CHILD_OF" || parent == "" {
				parent = r.SpanID
			}
		}
		if parent != "" && ids[parent] && parent != s.SpanID {
			children[parent] = append(children[parent], i)
		} else {
			roots = append(roots, i)
		}
	}
	total := float64(max(end-start, 1))
	byStart := func(a, b int) int { return int(t.Spans[a].StartTime - t.Spans[b].StartTime) }
	var rows []spanRow
	seen := map[int]bool{}
	var walk func(i, depth int)
	walk = func(i, depth int) {
		if seen[i] {
			return
		}
		seen[i] = true
		s := t.Spans[i]
		row := spanRow{
			Depth: depth, Service: t.Processes[s.ProcessID].ServiceName, Operation: s.OperationName,
			Duration: duration(float64(s.Duration) / 1e6), Offset: "+" + duration(float64(s.StartTime-start)/1e6),
			Left: 100 * float64(s.StartTime-start) / total, Width: max(0.5, 100*float64(s.Duration)/total),
		}
		for _, tag := range s.Tags {
			if tag.Key == "error" && tag.Value == true {
				row.Error = true
			}
		}
		rows = append(rows, row)
		kids := children[s.SpanID]
		slices.SortFunc(kids, byStart)
		for _, k := range kids {
			walk(k, depth+1)
		}
	}
	slices.SortFunc(roots, byStart)
	for _, r := range roots {
		walk(r, 0)
	}
	return rows
}
