package database

import (
	"context"

	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/uberservice/uberservice/platform/tracing"
)

// startTransaction starts the span of one Transact, in the trace of the work
// ctx is: a request's, an event's. Its statements are not spans of their own;
// the transaction is the unit that commits or not. Outside any trace (a
// worker's round: the relay's, the dispatcher's) it records nothing, rather
// than start a trace of one span per round.
func (d *DB) startTransaction(ctx context.Context) (context.Context, trace.Span) {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ctx, trace.SpanFromContext(ctx)
	}
	return tracing.Start(ctx, "transaction "+d.Schema, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(semconv.DBSystemNamePostgreSQL, semconv.DBNamespace(d.Schema)))
}
