// Package otlp sets up the OpenTelemetry SDK behind package tracing: one
// TracerProvider per module, whose resource names the module as the service,
// all feeding one batching queue and one OTLP/HTTP exporter. A process that
// hosts five modules shows up as five services, as it would deployed one per
// process.
//
// With no exporter configured (no --otlp-endpoint, no OTEL_EXPORTER_OTLP_*
// endpoint), every provider is a no-op one: no span is recorded, and package
// tracing only carries an incoming traceparent on.
//
// It is its own package so that what the gateways import (package tracing,
// the OpenTelemetry API) stays light: only the runtime links the SDK and the
// exporter.
package otlp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/google/uuid"
	"github.com/uberservice/uberservice/platform/tracing"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/uberservice/uberservice/platform/build"
)

// ModuleKey is the resource attribute that names the module, beside
// service.name, which OTEL_SERVICE_NAME may override (tracing.ModuleKey).
const ModuleKey = tracing.ModuleKey

// Config says where traces go. The zero Config exports over OTLP/HTTP when the
// standard environment variables name an endpoint, and records nothing
// otherwise. The SDK itself reads the rest of the standard variables:
// OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG, OTEL_BSP_* (the batching),
// OTEL_EXPORTER_OTLP_* (headers, timeout, compression), OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES.
type Config struct {
	// Endpoint is the base URL of an OTLP/HTTP receiver (--otlp-endpoint),
	// such as http://localhost:4318; traces go to its /v1/traces. It wins
	// over the environment.
	Endpoint string
	// Exporter, when set, receives every span as it ends, synchronously,
	// instead of an OTLP exporter: a test's tracetest.InMemoryExporter.
	Exporter sdktrace.SpanExporter
	// Instance is the process's service.instance.id, shared with its
	// metrics; a random one when empty.
	Instance string
}

// Tracing is a process's tracing: one provider per module, one exporter. The
// nil *Tracing is tracing that is off.
type Tracing struct {
	proc     sdktrace.SpanProcessor // nil when off
	instance string
	version  string

	mu        sync.Mutex
	providers map[string]*sdktrace.TracerProvider
	closed    bool
}

// New sets up tracing as cfg and the environment say. It connects to nothing:
// the exporter sends its first batch when spans end.
func New(ctx context.Context, cfg Config) (*Tracing, error) {
	t := &Tracing{instance: cfg.Instance, version: build.Version(), providers: map[string]*sdktrace.TracerProvider{}}
	if t.instance == "" {
		t.instance = uuid.NewString()
	}
	switch {
	case cfg.Exporter != nil:
		t.proc = sdktrace.NewSimpleSpanProcessor(cfg.Exporter)
	case cfg.Endpoint != "" || configured():
		var opts []otlptracehttp.Option
		if cfg.Endpoint != "" {
			u, err := url.Parse(cfg.Endpoint)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, fmt.Errorf("tracing: OTLP endpoint %q: want http(s)://HOST:PORT", cfg.Endpoint)
			}
			opts = append(opts, otlptracehttp.WithEndpoint(u.Host), otlptracehttp.WithURLPath(path.Join("/", u.Path, "v1/traces")))
			if u.Scheme == "http" {
				opts = append(opts, otlptracehttp.WithInsecure())
			}
		}
		exp, err := otlptracehttp.New(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("tracing: OTLP exporter: %w", err)
		}
		t.proc = sdktrace.NewBatchSpanProcessor(exp)
	}
	return t, nil
}

// configured reports whether the environment asks for traces to be exported:
// an OTLP endpoint is set, and neither the SDK nor the traces exporter is
// switched off.
func configured() bool {
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") || os.Getenv("OTEL_TRACES_EXPORTER") == "none" {
		return false
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

// Enabled reports whether spans are recorded and exported.
func (t *Tracing) Enabled() bool { return t != nil && t.proc != nil }

// Provider is the TracerProvider of module: its spans are exported under the
// module's name. When tracing is off, or shut down, it is a no-op provider.
func (t *Tracing) Provider(module string) trace.TracerProvider {
	if !t.Enabled() {
		return noop.NewTracerProvider()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return noop.NewTracerProvider()
	}
	if tp, ok := t.providers[module]; ok {
		return tp
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(shared{t.proc}),
		sdktrace.WithResource(t.resource(module)),
	)
	t.providers[module] = tp
	return tp
}

// resource names module as the service, unless OTEL_SERVICE_NAME names
// another: the environment's attributes win over the module's.
func (t *Tracing) resource(module string) *resource.Resource {
	own := resource.NewSchemaless(
		semconv.ServiceName(module),
		semconv.ServiceInstanceID(t.instance),
		semconv.ServiceVersion(t.version),
		ModuleKey.String(module),
	)
	r, err := resource.Merge(resource.Default(), own)
	if err != nil {
		r = own // two schema URLs: the module's names matter more
	}
	if env, err := resource.Merge(r, resource.Environment()); err == nil {
		r = env
	}
	return r
}

// Shutdown ends every module's provider and flushes what is still queued to
// the exporter, within ctx. Spans that end later are dropped.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	t.mu.Lock()
	providers := t.providers
	t.providers, t.closed = nil, true
	t.mu.Unlock()
	var errs []error
	for _, tp := range providers {
		errs = append(errs, tp.Shutdown(ctx)) // ends its tracers; the shared queue stays open
	}
	if err := t.proc.Shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("tracing: flush the exporter: %w", err))
	}
	return errors.Join(errs...)
}

// shared is the one span processor every module's provider feeds: a
// provider's shutdown must not shut it for the others, so only Tracing's
// Shutdown does.
type shared struct{ sdktrace.SpanProcessor }

func (shared) Shutdown(context.Context) error { return nil }
