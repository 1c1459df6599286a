package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// jaeger is a Jaeger v2 all-in-one with in-memory storage, built from the
// tools/jaeger module (its own go.mod, so that Jaeger's dependencies never
// move the project's) and listening on free loopback ports.
type jaeger struct {
	OTLP  string // the OTLP/HTTP receiver's base URL
	Query string // the query API's base URL
}

// jaegerConfig is Jaeger's all-in-one configuration (cmd/jaeger/internal/
// all-in-one.yaml in its module) cut to what the test needs: OTLP/HTTP in,
// memory storage, the query API, no metrics endpoint of its own.
const jaegerConfig = `service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_query:
    storage:
      traces: memstore
    enable_tracing: false
    http:
      endpoint: 127.0.0.1:%d
    grpc:
      endpoint: 127.0.0.1:%d
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:%d
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`

// startJaeger builds Jaeger (minutes the first time, seconds from the build
// cache after) and runs it until t ends. It fails the test when Jaeger cannot
// be built or does not come up.
func startJaeger(t *testing.T) *jaeger {
	t.Helper()
	dir := t.TempDir()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "jaeger")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	start := time.Now()
	build := exec.CommandContext(ctx, "go", "build", "-C", filepath.Join(root, "tools", "jaeger"), "-o", bin,
		"github.com/jaegertracing/jaeger/cmd/jaeger")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("cannot build Jaeger from tools/jaeger (go build -C tools/jaeger github.com/jaegertracing/jaeger/cmd/jaeger): %v\n%s", err, out)
	}
	t.Logf("built Jaeger in %v", time.Since(start).Round(time.Second))

	ports := freePorts(t, 3)
	conf := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(conf, fmt.Appendf(nil, jaegerConfig, ports[0], ports[1], ports[2]), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "jaeger.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", conf)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OTEL_") { // Jaeger is no part of the traces it stores
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("cannot start Jaeger: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
	})
	j := &jaeger{OTLP: fmt.Sprintf("http://127.0.0.1:%d", ports[2]), Query: fmt.Sprintf("http://127.0.0.1:%d", ports[0])}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-exited:
			out, _ := os.ReadFile(logPath)
			t.Fatalf("Jaeger exited at start-up: %v\n%s", err, out)
		default:
		}
		resp, err := http.Get(j.Query + "/api/services")
		if err == nil {
			resp.Body.Close()
			if conn, err := net.Dial("tcp", strings.TrimPrefix(j.OTLP, "http://")); err == nil && resp.StatusCode == http.StatusOK {
				conn.Close()
				return j
			}
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(logPath)
			t.Fatalf("Jaeger did not come up in 60s (last error %v)\n%s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// jaegerSpan is a span as Jaeger's query API returns it, with its
// process's service name.
type jaegerSpan struct {
	Operation string
	Service   string
	SpanID    string
	// Parents are the span ids it refers to: its parent, and the span a
	// consumer's link names (Jaeger shows a parent that is also linked to
	// as FOLLOWS_FROM).
	Parents []string
}

// trace is what Jaeger holds of trace id: no spans while it knows none.
func (j *jaeger) trace(t *testing.T, id string) []jaegerSpan {
	t.Helper()
	resp, err := http.Get(j.Query + "/api/traces/" + id)
	if err != nil {
		t.Fatalf("query Jaeger: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	var body struct {
		Data []struct {
			Spans []struct {
				OperationName string `json:"operationName"`
				SpanID        string `json:"spanID"`
				ProcessID     string `json:"processID"`
				References    []struct {
					RefType string `json:"refType"`
					SpanID  string `json:"spanID"`
				} `json:"references"`
			} `json:"spans"`
			Processes map[string]struct {
				ServiceName string `json:"serviceName"`
			} `json:"processes"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("Jaeger answered %s (%v)", resp.Status, err)
	}
	var out []jaegerSpan
	for _, tr := range body.Data {
		for _, s := range tr.Spans {
			js := jaegerSpan{Operation: s.OperationName, Service: tr.Processes[s.ProcessID].ServiceName, SpanID: s.SpanID}
			for _, r := range s.References {
				if r.RefType == "CHILD_OF" || r.RefType == "FOLLOWS_FROM" {
					js.Parents = append(js.Parents, r.SpanID)
				}
			}
			out = append(out, js)
		}
	}
	return out
}
