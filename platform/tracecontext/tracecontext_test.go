package tracecontext_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/uberservice/uberservice/platform/tracecontext"
)

// The example of the W3C recommendation.
const example = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestParseReadsAValidTraceparent(t *testing.T) {
	s, err := tracecontext.Parse(example)
	if err != nil {
		t.Fatal(err)
	}
	if s.TraceID.String() != "4bf92f3577b34da6a3ce929d0e0e4736" || s.SpanID.String() != "00f067aa0ba902b7" || !s.Sampled() {
		t.Fatalf("parsed %+v", s)
	}
	if s.String() != example {
		t.Fatalf("formatted back as %q", s.String())
	}
}

func TestParseReadsALaterVersionForTheFieldsItKnows(t *testing.T) {
	s, err := tracecontext.Parse("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03-what-comes-next")
	if err != nil {
		t.Fatal(err)
	}
	// Sent on as version 00, with only the flags version 00 defines.
	if s.String() != example {
		t.Fatalf("got %q, want %q", s.String(), example)
	}
}

func TestParseRejectsWhatIsNotATraceparent(t *testing.T) {
	for name, h := range map[string]string{
		"empty":                              "",
		"garbage":                            "hello",
		"too short":                          example[:54],
		"version 00 longer":                  example + "-00",
		"version ff":                         "ff" + example[2:],
		"upper-case hex":                     strings.ToUpper(example),
		"zero trace id":                      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
		"zero span id":                       "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
		"bad separator":                      "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"non-hex trace id":                   "00-4bf92f3577b34da6a3ce929d0e0e47zz-00f067aa0ba902b7-01",
		"non-hex flags":                      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",
		"later version, no dash after flags": "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
	} {
		t.Run(name, func(t *testing.T) {
			if s, err := tracecontext.Parse(h); !errors.Is(err, tracecontext.ErrMalformed) {
				t.Fatalf("Parse(%q) = %+v, %v; want ErrMalformed", h, s, err)
			}
		})
	}
}

func TestContinueMakesAChildOfAValidCallerAndANewTraceOtherwise(t *testing.T) {
	caller, _ := tracecontext.Parse(example)
	child := tracecontext.Continue(example)
	if child.TraceID != caller.TraceID || child.SpanID == caller.SpanID || !child.SpanID.IsValid() || child.Flags != caller.Flags {
		t.Fatalf("child %v of %v", child, caller)
	}
	for _, h := range []string{"", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01"} {
		s := tracecontext.Continue(h)
		if !s.IsValid() || s.TraceID == caller.TraceID || !s.Sampled() {
			t.Fatalf("Continue(%q) = %v, want a new sampled trace", h, s)
		}
	}
}

func TestNewTracesAndSpansAreDistinct(t *testing.T) {
	a, b := tracecontext.New(), tracecontext.New()
	if a.TraceID == b.TraceID || a.SpanID == b.SpanID {
		t.Fatalf("two new traces share ids: %v %v", a, b)
	}
	if _, err := tracecontext.Parse(a.String()); err != nil {
		t.Fatalf("a new trace does not parse back: %v", err)
	}
	if c := a.Child(); c.TraceID != a.TraceID || c.SpanID == a.SpanID {
		t.Fatalf("child %v of %v", c, a)
	}
}

func TestContextCarriesOnlyValidSpans(t *testing.T) {
	ctx := context.Background()
	if _, ok := tracecontext.From(ctx); ok {
		t.Fatal("an empty context carries a span")
	}
	if _, ok := tracecontext.From(tracecontext.With(ctx, tracecontext.Span{})); ok {
		t.Fatal("the zero span was stored")
	}
	s := tracecontext.New()
	if got, ok := tracecontext.From(tracecontext.With(ctx, s)); !ok || got != s {
		t.Fatalf("From = %v, %v; want %v", got, ok, s)
	}
}
