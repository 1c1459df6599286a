package app

import (
	"io"
	"log/slog"

	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/tracing"
)

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("invalid --log-level %q", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, usagef("invalid --log-format %q (text or json)", format)
	}
	log := slog.New(tracing.LogHandler(identity.LogHandler(correlation.Handler(h))))
	slog.SetDefault(log)
	return log, nil
}
