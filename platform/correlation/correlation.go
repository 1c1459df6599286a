// Package correlation carries the id of the request that caused some work through
// contexts, HTTP headers, event metadata and log lines, so one story can be
// followed across modules and processes.
package correlation

import (
	"context"
	"log/slog"

	"github.com/google/uuid"
)

// Header is the HTTP header that carries the id between processes.
const Header = "X-Request-Id"

// MetadataKey is the event metadata key that carries the id.
const MetadataKey = "correlation_id"

// MaxLen is the length of the longest id carried.
const MaxLen = 128

// Valid reports whether id may be carried: 1 to MaxLen characters, each an
// ASCII letter or digit or one of . _ : -. An id that comes from outside (an
// HTTP header, event metadata) and is not valid is replaced (OrNew), never
// echoed or copied into every log line of the work it causes.
func Valid(id string) bool {
	if id == "" || len(id) > MaxLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

// New returns a fresh id, a random UUID.
func New() string { return uuid.NewString() }

// OrNew returns id when it is Valid, and a fresh id otherwise: what an id
// taken from a header or from event metadata becomes.
func OrNew(id string) string {
	if Valid(id) {
		return id
	}
	return New()
}

type key struct{}

// With returns a context carrying id. An id that is not Valid (the empty one
// included) is not carried: ctx is returned as it is.
func With(ctx context.Context, id string) context.Context {
	if !Valid(id) {
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
// carries an id gets a correlation_id attribute. (tracing.LogHandler adds the
// trace's ids.)
func Handler(h slog.Handler) slog.Handler { return handler{h} }

type handler struct{ slog.Handler }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if id := ID(ctx); id != "" {
		r.AddAttrs(slog.String(MetadataKey, id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return handler{h.Handler.WithAttrs(attrs)}
}

func (h handler) WithGroup(name string) slog.Handler { return handler{h.Handler.WithGroup(name)} }
