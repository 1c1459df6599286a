package correlation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/tracing"
)

// The trace's ids are tracing.LogHandler's, composed with this one as the
// runtime composes them.
func TestLogLinesCarryTheCorrelationIDAndTheTrace(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(tracing.LogHandler(correlation.Handler(slog.NewJSONHandler(&buf, nil))))
	ctx := tracing.Extract(correlation.With(context.Background(), "req-1"),
		map[string]string{tracing.MetadataKey: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
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
	if with["correlation_id"] != "req-1" || with["trace_id"] != "4bf92f3577b34da6a3ce929d0e0e4736" || with["span_id"] != "00f067aa0ba902b7" {
		t.Fatalf("line %v lacks the ids", with)
	}
	for _, k := range []string{"correlation_id", "trace_id", "span_id"} {
		if _, ok := without[k]; ok {
			t.Fatalf("line without context has %s: %v", k, without)
		}
	}
}

func TestValidIDs(t *testing.T) {
	for id, want := range map[string]bool{
		"req-1":                                true,
		"0190a6f4-6d0e-7b8a-9c1d-2e3f4a5b6c7d": true,
		"svc.orders:42_A":                      true,
		strings.Repeat("a", 128):               true,
		"":                                     false,
		strings.Repeat("a", 129):               false,
		strings.Repeat("a", 60<<10):            false,
		"has space":                            false,
		"quote\"d":                             false,
		"new\nline":                            false,
		"tab\t":                                false,
		"ünïcode":                              false,
		"slash/ed":                             false,
		"{json}":                               false,
	} {
		if got := correlation.Valid(id); got != want {
			t.Errorf("Valid(%.40q) = %v, want %v", id, got, want)
		}
	}
}

func TestOnlyAValidIDIsCarried(t *testing.T) {
	ctx := context.Background()
	if id := correlation.ID(correlation.With(ctx, "bad id")); id != "" {
		t.Fatalf("an invalid id is carried: %q", id)
	}
	if id := correlation.ID(correlation.With(ctx, strings.Repeat("x", 200))); id != "" {
		t.Fatalf("a long id is carried: %q", id)
	}
	if id := correlation.ID(correlation.With(ctx, "req-9")); id != "req-9" {
		t.Fatalf("a valid id is not carried: %q", id)
	}
}

func TestOrNewKeepsAValidIDAndReplacesAnInvalidOne(t *testing.T) {
	if id := correlation.OrNew("req-9"); id != "req-9" {
		t.Fatalf("a valid id was replaced by %q", id)
	}
	a, b := correlation.OrNew(strings.Repeat("x", 200)), correlation.OrNew("")
	if !correlation.Valid(a) || !correlation.Valid(b) || a == b {
		t.Fatalf("replacements %q and %q, want two fresh valid ids", a, b)
	}
	if id := correlation.New(); !correlation.Valid(id) || len(id) != 36 {
		t.Fatalf("New() = %q", id)
	}
}
