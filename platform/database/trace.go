package database

import (
	"context"

	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/uberservice/uberservice/platform/tracing"
)

// startTransaction starts the span of one Transact, in the trace of the work
// ctx is: a request's, an event's. Its statements are not spans of their own;
// the transaction is the unit that commits or not.
func (d *DB) startTransaction(ctx context.Context) (context.Context, trace.Span) {
	return tracing.Start(ctx, "transaction "+d.Schema, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(semconv.DBSystemNamePostgreSQL, semconv.DBNamespace(d.Schema)))
}
