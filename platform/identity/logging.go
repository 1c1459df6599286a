package identity

import (
	"context"
	"log/slog"
)

// LogHandler wraps a slog.Handler so that every record logged with a context
// made for a person (WithPerson) names the person's subject: who a line was
// for, never the token that says so. The request's own log line is one of
// them, since the middleware puts the person in the request's context.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if p, ok := PersonFrom(ctx); ok {
		r.AddAttrs(slog.String("subject", p.Subject))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler { return logHandler{h.Handler.WithGroup(name)} }
