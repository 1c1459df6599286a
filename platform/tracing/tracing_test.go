package tracing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"

	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/uberservice/uberservice/platform/tracing"
)

const callerTrace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// A span started from a context inherits its provider: the module whose work
// the context is records it, as the child of the span there.
func TestStartRecordsWithTheProviderOfTheSpanInTheContext(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	ctx, parent := tp.Tracer("test").Start(context.Background(), "request")
	_, child := tracing.Start(ctx, "transaction")
	tracing.End(child, errors.New("boom"))
	parent.End()

	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want the child and its parent", len(spans))
	}
	c := spans[0]
	if c.Name != "transaction" || c.Parent.SpanID() != parent.SpanContext().SpanID() || c.SpanContext.TraceID() != parent.SpanContext().TraceID() {
		t.Fatalf("child %s has parent %v, want %v", c.Name, c.Parent.SpanID(), parent.SpanContext().SpanID())
	}
	if c.Status.Code != codes.Error || c.Status.Description != "boom" {
		t.Fatalf("child's status %v, want the error", c.Status)
	}
}

// Without a recording span, Start records nothing and hands on the context
// it was given: an incoming traceparent still reaches what the work calls.
func TestStartWithoutATracerCarriesTheIncomingTraceOn(t *testing.T) {
	ctx := tracing.Extract(context.Background(), map[string]string{tracing.MetadataKey: callerTrace})
	ctx, span := tracing.Start(ctx, "transaction")
	if span.IsRecording() {
		t.Fatal("a span without a provider records")
	}
	md := map[string]string{}
	tracing.Inject(ctx, md)
	if md[tracing.MetadataKey] != callerTrace {
		t.Fatalf("carried on %q, want the caller's %q", md[tracing.MetadataKey], callerTrace)
	}

	md = map[string]string{}
	_, span = tracing.Start(context.Background(), "untraced")
	tracing.Inject(trace.ContextWithSpan(context.Background(), span), md)
	if len(md) != 0 {
		t.Fatalf("work outside any trace sends %v", md)
	}
}

func TestAMalformedTraceparentIsIgnored(t *testing.T) {
	for _, h := range []string{"", "not-a-trace", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"ff" + callerTrace[2:], callerTrace[:50], "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01"} {
		ctx := tracing.Extract(context.Background(), map[string]string{tracing.MetadataKey: h})
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			t.Errorf("traceparent %q gives span context %v", h, sc)
		}
	}
}

func TestOffTellsANoopProvider(t *testing.T) {
	if !tracing.Off(noop.NewTracerProvider()) || !tracing.Off(nil) {
		t.Fatal("a no-op provider is not off")
	}
	if tracing.Off(sdktrace.NewTracerProvider()) {
		t.Fatal("the SDK's provider is off")
	}
}

func TestLogLinesCarryTheTrace(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(tracing.LogHandler(slog.NewJSONHandler(&buf, nil)))
	ctx := tracing.Extract(context.Background(), map[string]string{tracing.MetadataKey: callerTrace})
	log.InfoContext(ctx, "hello")
	log.Info("no context")
	log.With("a", 1).WithGroup("g").InfoContext(ctx, "grouped")

	dec := json.NewDecoder(&buf)
	var with, without, grouped map[string]any
	for _, v := range []*map[string]any{&with, &without, &grouped} {
		if err := dec.Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	if with["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" || with["span_id"] != "00f067aa0ba902b7" {
		t.Fatalf("line %v lacks the trace's ids", with)
	}
	for _, k := range []string{"trace_id", "span_id"} {
		if _, ok := without[k]; ok {
			t.Fatalf("line without context has %s: %v", k, without)
		}
	}
	if g, _ := grouped["g"].(map[string]any); g["trace_id"] == nil {
		t.Fatalf("grouped line %v lacks the trace id", grouped)
	}
}
