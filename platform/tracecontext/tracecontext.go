// Package tracecontext carries a W3C Trace Context (https://www.w3.org/TR/trace-context/)
// through contexts, HTTP headers and event metadata, so that one trace can be
// followed across modules and processes by any tool that speaks traceparent.
//
// It is the header format only: there is no tracer, exporter or sampler here.
// Every unit of work (a served request, an outgoing call, a handled event) gets
// its own span id within the trace it continues.
package tracecontext

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
)

// Header is the HTTP header that carries the trace context.
const Header = "traceparent"

// MetadataKey is the event metadata key that carries the trace context, in the
// header's format.
const MetadataKey = "traceparent"

// FlagSampled is the one trace flag version 00 defines: the caller may have
// recorded its part of the trace.
const FlagSampled byte = 0x01

// TraceID names a whole trace.
type TraceID [16]byte

// String is the id as 32 lowercase hex digits.
func (t TraceID) String() string { return hex.EncodeToString(t[:]) }

// IsValid reports whether t is not all zeros, which the spec forbids.
func (t TraceID) IsValid() bool { return t != TraceID{} }

// SpanID names one unit of work within a trace.
type SpanID [8]byte

// String is the id as 16 lowercase hex digits.
func (s SpanID) String() string { return hex.EncodeToString(s[:]) }

// IsValid reports whether s is not all zeros, which the spec forbids.
func (s SpanID) IsValid() bool { return s != SpanID{} }

// Span is the current unit of work: the trace it belongs to, its own id (the
// parent-id of whatever it calls) and the trace flags. The zero Span is invalid
// and means "no trace".
type Span struct {
	TraceID TraceID
	SpanID  SpanID
	Flags   byte
}

// IsValid reports whether s has a valid trace id and span id.
func (s Span) IsValid() bool { return s.TraceID.IsValid() && s.SpanID.IsValid() }

// Sampled reports whether the sampled flag is set.
func (s Span) Sampled() bool { return s.Flags&FlagSampled != 0 }

// String formats s as a version 00 traceparent value:
// 00-<trace-id>-<span-id>-<flags>.
func (s Span) String() string {
	var b [55]byte
	copy(b[:], "00-")
	hex.Encode(b[3:35], s.TraceID[:])
	b[35] = '-'
	hex.Encode(b[36:52], s.SpanID[:])
	b[52] = '-'
	hex.Encode(b[53:55], []byte{s.Flags})
	return string(b[:])
}

// New starts a trace: fresh random trace and span ids, sampled.
func New() Span {
	var s Span
	for !s.TraceID.IsValid() {
		_, _ = rand.Read(s.TraceID[:]) // never fails (crypto/rand, Go 1.24+)
	}
	s.SpanID = newSpanID()
	s.Flags = FlagSampled
	return s
}

// Child returns the next unit of work in s's trace: same trace id and flags, a
// fresh span id. The child of an invalid span is a new trace.
func (s Span) Child() Span {
	if !s.IsValid() {
		return New()
	}
	return Span{TraceID: s.TraceID, SpanID: newSpanID(), Flags: s.Flags}
}

func newSpanID() SpanID {
	var id SpanID
	for !id.IsValid() {
		_, _ = rand.Read(id[:])
	}
	return id
}

// Continue returns the span for work caused by a caller that sent header: a
// child of the caller's span when header is a valid traceparent, and a new trace
// otherwise (no header, or one that does not parse, which the spec says to
// ignore rather than reject).
func Continue(header string) Span {
	parent, err := Parse(header)
	if err != nil {
		return New()
	}
	return parent.Child()
}

// ErrMalformed is returned by Parse for a value that is not a traceparent.
var ErrMalformed = errors.New("tracecontext: malformed traceparent")

// Parse reads a traceparent value. Version 00 must be exactly 55 characters;
// a later version is read for the fields version 00 defines, as the spec asks,
// provided what follows them starts with a dash. Hex must be lowercase, ids
// must not be all zeros, and version ff is invalid. Only the flags version 00
// defines are kept.
func Parse(header string) (Span, error) {
	var s Span
	h := header
	if len(h) < 55 {
		return s, fmt.Errorf("%w: %q is too short", ErrMalformed, header)
	}
	var version [1]byte
	if !lowerHex(h[0:2]) || h[2] != '-' || h[35] != '-' || h[52] != '-' {
		return s, fmt.Errorf("%w: %q", ErrMalformed, header)
	}
	_, _ = hex.Decode(version[:], []byte(h[0:2]))
	switch {
	case version[0] == 0xff:
		return s, fmt.Errorf("%w: version ff is invalid", ErrMalformed)
	case version[0] == 0x00 && len(h) != 55:
		return s, fmt.Errorf("%w: version 00 is 55 characters, got %d", ErrMalformed, len(h))
	case len(h) > 55 && h[55] != '-':
		return s, fmt.Errorf("%w: %q", ErrMalformed, header)
	}
	if !lowerHex(h[3:35]) || !lowerHex(h[36:52]) || !lowerHex(h[53:55]) {
		return s, fmt.Errorf("%w: %q is not lowercase hex", ErrMalformed, header)
	}
	_, _ = hex.Decode(s.TraceID[:], []byte(h[3:35]))
	_, _ = hex.Decode(s.SpanID[:], []byte(h[36:52]))
	var flags [1]byte
	_, _ = hex.Decode(flags[:], []byte(h[53:55]))
	s.Flags = flags[0] & FlagSampled
	if !s.TraceID.IsValid() || !s.SpanID.IsValid() {
		return Span{}, fmt.Errorf("%w: all-zero id in %q", ErrMalformed, header)
	}
	return s, nil
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

type key struct{}

// With returns a context carrying s. An invalid s leaves ctx as it is.
func With(ctx context.Context, s Span) context.Context {
	if !s.IsValid() {
		return ctx
	}
	return context.WithValue(ctx, key{}, s)
}

// From returns the span carried by ctx, and whether there is one.
func From(ctx context.Context) (Span, bool) {
	s, ok := ctx.Value(key{}).(Span)
	return s, ok
}
