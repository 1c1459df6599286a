// Package correlation carries the id of the request that caused some work through
// contexts, HTTP headers, event metadata and log lines, so one story can be
// followed across modules and processes.
package correlation

import (
	"context"
	"log/slog"

	"github.com/uberservice/uberservice/platform/tracecontext"
)

// Header is the HTTP header that carries the id between processes.
const Header = "X-Request-Id"

// MetadataKey is the event metadata key that carries the id.
const MetadataKey = "correlation_id"

type key struct{}

// With returns a context carrying id.
func With(ctx context.Context, id string) context.Context {
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, key{}, id)
}

// ID returns the id carried by ctx, or "".
func ID(ctx context.Context) string {
	id, _ := ctx.Value(key{}).(string)
	return id
}

// Handler wraps a slog.Handler so that every record logged with a context that
// carries an id gets a correlation_id attribute, and one that carries a trace
// context (package tracecontext) gets trace_id and span_id attributes.
func Handler(h slog.Handler) slog.Handler { return handler{h} }

type handler struct{ slog.Handler }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if id := ID(ctx); id != "" {
		r.AddAttrs(slog.String(MetadataKey, id))
	}
	if s, ok := tracecontext.From(ctx); ok {
		r.AddAttrs(slog.String("trace_id", s.TraceID.String()), slog.String("span_id", s.SpanID.String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return handler{h.Handler.WithAttrs(attrs)}
}

func (h handler) WithGroup(name string) slog.Handler { return handler{h.Handler.WithGroup(name)} }
