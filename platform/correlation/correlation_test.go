package correlation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/tracecontext"
)

func TestLogLinesCarryTheCorrelationIDAndTheTrace(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(correlation.Handler(slog.NewJSONHandler(&buf, nil)))
	span := tracecontext.New()
	ctx := tracecontext.With(correlation.With(context.Background(), "req-1"), span)
	log.InfoContext(ctx, "hello")
	log.Info("no context")

	dec := json.NewDecoder(&buf)
	var with, without map[string]any
	if err := dec.Decode(&with); err != nil {
		t.Fatal(err)
	}
	if err := dec.Decode(&without); err != nil {
		t.Fatal(err)
	}
	if with["correlation_id"] != "req-1" || with["trace_id"] != span.TraceID.String() || with["span_id"] != span.SpanID.String() {
		t.Fatalf("line %v lacks the ids of %v", with, span)
	}
	for _, k := range []string{"correlation_id", "trace_id", "span_id"} {
		if _, ok := without[k]; ok {
			t.Fatalf("line without context has %s: %v", k, without)
		}
	}
}
