package messaging

import (
	"context"

	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/attribute"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/tracing"
)

// An event's trace: the outbox write is a span in the trace of the work that
// publishes the event (in its transaction), and its context is stored in the
// event's metadata (traceparent, tracestate). The relay's send of the message
// and each consumer's handling of it are children of that stored context;
// the handling links to it too, as the messaging conventions ask of a
// consumer. So a deposit's trace reaches the commission handler of another
// module, in this process or another.

// ModuleKey is the attribute that names the module that sends or handles a
// message (tracing.ModuleKey).
const ModuleKey = tracing.ModuleKey

func moduleAttr(module string) attribute.KeyValue { return ModuleKey.String(module) }

// SetTracerProvider has the consumers record the handling of each message
// with tp, their module's provider. Untraced, they carry the trace context on
// and record nothing.
func (c *Consumers) SetTracerProvider(tp trace.TracerProvider) { c.tp = tp }

// SetTracerProvider has the relay record the send of each message with tp,
// its module's provider.
func (r *Relay) SetTracerProvider(tp trace.TracerProvider) { r.tp = tp }

// startWrite starts the span of writing one message to the outbox, a child
// of the transaction tx is in when Transact runs it, of ctx's span otherwise.
func startWrite(ctx context.Context, tx *gorm.DB, topic, msgID string) (context.Context, trace.Span) {
	if tctx := tx.Statement.Context; tctx != nil && trace.SpanContextFromContext(tctx).IsValid() {
		ctx = trace.ContextWithSpan(ctx, trace.SpanFromContext(tctx))
	}
	return tracing.Start(ctx, "create "+topic, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(semconv.MessagingOperationTypeCreate, semconv.MessagingDestinationName(topic),
			semconv.MessagingMessageID(msgID)))
}

// startSend starts a span for each of msgs, about to be published on topic,
// as a child of the context its metadata stores, and returns what ends them
// all with the outcome of the publish.
func (r *Relay) startSend(topic string, msgs []*message.Message) func(err error) {
	if tracing.Off(r.tp) {
		return func(error) {}
	}
	tracer := r.tp.Tracer(tracing.Scope)
	spans := make([]trace.Span, len(msgs))
	for i, msg := range msgs {
		ctx := tracing.Extract(context.Background(), msg.Metadata)
		_, spans[i] = tracer.Start(ctx, "send "+topic, trace.WithSpanKind(trace.SpanKindProducer),
			trace.WithAttributes(semconv.MessagingOperationTypeSend, semconv.MessagingDestinationName(topic),
				semconv.MessagingMessageID(msg.UUID), semconv.MessagingBatchMessageCount(len(msgs)),
				moduleAttr(r.producer)))
	}
	return func(err error) {
		for _, s := range spans {
			tracing.End(s, err)
		}
	}
}

// startHandling starts the span of h handling the message msgID, in the
// trace ctx carries (withMetadata put the stored context there), linked to
// that context too.
func (c *Consumers) startHandling(ctx context.Context, h *handler, msgID string) (context.Context, trace.Span) {
	if tracing.Off(c.tp) {
		return ctx, trace.SpanFromContext(ctx) // carries the stored context on; ending it does nothing
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(semconv.MessagingOperationTypeProcess, semconv.MessagingDestinationName(h.topic),
			semconv.MessagingMessageID(msgID), semconv.MessagingConsumerGroupName(h.name), moduleAttr(c.module))}
	if stored := trace.SpanContextFromContext(ctx); stored.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: stored}))
	}
	return c.tp.Tracer(tracing.Scope).Start(ctx, "process "+h.topic, opts...)
}
