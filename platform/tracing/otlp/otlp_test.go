package otlp_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/uberservice/uberservice/platform/tracing"
	"github.com/uberservice/uberservice/platform/tracing/otlp"
)

// clearEnv unsets the variables that configure an exporter, for the test.
func clearEnv(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER"} {
		t.Setenv(k, "")
	}
}

func resourceOf(t *testing.T, s tracetest.SpanStub) map[attribute.Key]string {
	t.Helper()
	out := map[attribute.Key]string{}
	for _, kv := range s.Resource.Attributes() {
		out[kv.Key] = kv.Value.Emit()
	}
	return out
}

// Modules that share a process are each a service of their own, with one
// exporter.
func TestEachModuleIsAServiceOfItsOwn(t *testing.T) {
	clearEnv(t)
	exp := tracetest.NewInMemoryExporter()
	tr, err := otlp.New(context.Background(), otlp.Config{Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"accounts", "im"} {
		_, span := tr.Provider(m).Tracer("test").Start(context.Background(), "work of "+m)
		span.End()
	}
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	instance := ""
	for i, m := range []string{"accounts", "im"} {
		res := resourceOf(t, spans[i])
		if res[semconv.ServiceNameKey] != m || res[otlp.ModuleKey] != m {
			t.Fatalf("span %q has resource %v, want service %s", spans[i].Name, res, m)
		}
		if res[semconv.ServiceVersionKey] == "" || res[semconv.ServiceInstanceIDKey] == "" {
			t.Fatalf("resource %v lacks the version or the instance", res)
		}
		if i > 0 && res[semconv.ServiceInstanceIDKey] != instance {
			t.Fatalf("two modules of one process are instances %s and %s", instance, res[semconv.ServiceInstanceIDKey])
		}
		instance = res[semconv.ServiceInstanceIDKey]
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !tracing.Off(tr.Provider("accounts")) {
		t.Fatal("a provider after Shutdown records")
	}
}

func TestOTELServiceNameOverridesTheModule(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_SERVICE_NAME", "the-shop")
	exp := tracetest.NewInMemoryExporter()
	tr, err := otlp.New(context.Background(), otlp.Config{Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.Provider("accounts").Tracer("test").Start(context.Background(), "work")
	span.End()
	res := resourceOf(t, exp.GetSpans()[0])
	if res[semconv.ServiceNameKey] != "the-shop" || res[otlp.ModuleKey] != "accounts" {
		t.Fatalf("resource %v, want service the-shop, module accounts", res)
	}
}

func TestNothingConfiguredRecordsNothing(t *testing.T) {
	clearEnv(t)
	tr, err := otlp.New(context.Background(), otlp.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Enabled() || !tracing.Off(tr.Provider("accounts")) {
		t.Fatal("tracing with nothing configured records")
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	var none *otlp.Tracing
	if none.Enabled() || !tracing.Off(none.Provider("accounts")) || none.Shutdown(context.Background()) != nil {
		t.Fatal("the nil Tracing is not off")
	}
}

func TestABadEndpointIsRefused(t *testing.T) {
	clearEnv(t)
	for _, u := range []string{"localhost:4318", "ftp://x:1", "http://", "://"} {
		if _, err := otlp.New(context.Background(), otlp.Config{Endpoint: u}); err == nil {
			t.Errorf("endpoint %q accepted", u)
		}
	}
}

// receiver is an OTLP/HTTP receiver that counts what it gets.
type receiver struct {
	mu    sync.Mutex
	paths []string
	bytes int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.paths = append(r.paths, req.URL.Path)
	r.bytes += len(body)
	r.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(http.StatusOK)
}

// The endpoint (the flag's, or the environment's) gets the spans over
// OTLP/HTTP at its /v1/traces, at the latest when Shutdown flushes them.
func TestShutdownFlushesToTheEndpoint(t *testing.T) {
	for name, configure := range map[string]func(t *testing.T, url string) otlp.Config{
		"flag": func(t *testing.T, url string) otlp.Config { return otlp.Config{Endpoint: url + "/base"} },
		"env": func(t *testing.T, url string) otlp.Config {
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url+"/base")
			return otlp.Config{}
		},
	} {
		t.Run(name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "60000") // nothing leaves before Shutdown
			var got receiver
			srv := httptest.NewServer(&got)
			defer srv.Close()
			tr, err := otlp.New(context.Background(), configure(t, srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			if !tr.Enabled() {
				t.Fatal("configured tracing is off")
			}
			for _, m := range []string{"accounts", "im", "portal"} {
				_, span := tr.Provider(m).Tracer("test").Start(context.Background(), "work")
				span.End()
			}
			if err := tr.Shutdown(context.Background()); err != nil {
				t.Fatal(err)
			}
			got.mu.Lock()
			defer got.mu.Unlock()
			if len(got.paths) == 0 || got.paths[0] != "/base/v1/traces" || got.bytes == 0 {
				t.Fatalf("the receiver got %v (%d bytes), want the spans on /base/v1/traces", got.paths, got.bytes)
			}
		})
	}
}

// The SDK reads the sampler from the environment by itself.
func TestOTELTracesSamplerIsHonoured(t *testing.T) {
	clearEnv(t)
	t.Setenv("OTEL_TRACES_SAMPLER", "always_off")
	exp := tracetest.NewInMemoryExporter()
	tr, err := otlp.New(context.Background(), otlp.Config{Exporter: exp})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tr.Provider("accounts").Tracer("test").Start(context.Background(), "work")
	recording := span.IsRecording()
	span.End()
	if recording || len(exp.GetSpans()) != 0 {
		t.Fatal("a span was recorded with OTEL_TRACES_SAMPLER=always_off")
	}
}
