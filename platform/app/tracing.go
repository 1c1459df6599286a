package app

import (
	"context"
	"fmt"

	"go.opentelemetry.io/otel/trace"

	"github.com/uberservice/uberservice/platform/tracing/otlp"
)

// startTracing sets up the export of traces (Config.Traces and the OTEL_
// environment). Stopped last, it flushes what the servers, relays and
// consumers recorded until then, within the shutdown bound.
func (s *System) startTracing(ctx context.Context) error {
	cfg := s.cfg.Traces
	cfg.Instance = s.instance
	t, err := otlp.New(ctx, cfg)
	if err != nil {
		return &UsageError{err.Error()}
	}
	s.tracing = t
	if t.Enabled() {
		s.log.Info("exporting traces")
	}
	s.onStop(func(ctx context.Context) error {
		if err := t.Shutdown(ctx); err != nil {
			return fmt.Errorf("traces: %w", err)
		}
		return nil
	})
	return nil
}

// tracer is the TracerProvider of r's module: its spans are recorded under
// its name. A no-op one when traces are not exported.
func (r *running) tracer() trace.TracerProvider {
	return r.env.sys.tracing.Provider(r.env.Module.Name)
}
