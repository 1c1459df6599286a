package messaging_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/tracing"
)

type traced struct {
	N int `json:"n"`
}

func (traced) Topic() string { return "test.traced.v1" }

// tracedWorld is a module that publishes traced events to itself through its
// outbox, the relay and the in-process bus.
type tracedWorld struct {
	db      *database.DB
	mu      sync.Mutex
	handled map[int]trace.SpanContext // by event, the handler's span
}

// newTracedWorld starts the world's consumers and relay, recording with tp;
// with a nil tp, it starts neither, and what is published stays in the outbox.
func newTracedWorld(t *testing.T, tp trace.TracerProvider) *tracedWorld {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, apptest.FreshDatabase(t), "traced", database.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := database.Migrate(ctx, db, database.PlatformMigrations(), database.PlatformTable); err != nil {
		t.Fatal(err)
	}
	w := &tracedWorld{db: db, handled: map[int]trace.SpanContext{}}
	if tp == nil {
		return w
	}
	consumers := messaging.NewConsumers("traced", db, messaging.RetryPolicy{}, apptest.Logger(t))
	consumers.SetTracerProvider(tp)
	messaging.Handle(consumers, func(ctx context.Context, tx *gorm.DB, e traced) error {
		w.mu.Lock()
		defer w.mu.Unlock()
		w.handled[e.N] = trace.SpanContextFromContext(ctx)
		return nil
	})
	bus := messaging.NewInProcess(slog.New(slog.DiscardHandler))
	runCtx, cancel := context.WithCancel(ctx)
	sub, _ := bus.Subscriber("traced")
	if err := consumers.Start(runCtx, sub); err != nil {
		t.Fatal(err)
	}
	relay := messaging.NewRelay(db, bus.Publisher(), "traced", apptest.Logger(t))
	relay.SetTracerProvider(tp)
	done := make(chan struct{})
	go func() { relay.Run(runCtx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; consumers.Close(); bus.Close() })
	return w
}

func (w *tracedWorld) publish(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	if err := w.db.Transact(ctx, func(tx *gorm.DB) error { return outboxOf(traced{}).Publish(ctx, tx, traced{N: n}) }); err != nil {
		t.Fatal(err)
	}
}

func (w *tracedWorld) wait(t *testing.T, n int) trace.SpanContext {
	t.Helper()
	var sc trace.SpanContext
	apptest.Eventually(t, 5*time.Second, "the event handled", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		var ok bool
		sc, ok = w.handled[n]
		return ok
	})
	return sc
}

// spans indexes recorded spans by name, the first to end of each name.
func spans(exp *tracetest.InMemoryExporter) map[string]tracetest.SpanStub {
	out := map[string]tracetest.SpanStub{}
	for _, s := range exp.GetSpans() {
		if _, seen := out[s.Name]; !seen {
			out[s.Name] = s
		}
	}
	return out
}

func attrs(s tracetest.SpanStub) map[attribute.Key]string {
	out := map[attribute.Key]string{}
	for _, kv := range s.Attributes {
		out[kv.Key] = kv.Value.Emit()
	}
	return out
}

// An event carries the trace of the work that published it: the outbox write
// is a span in the writer's transaction, whose context the row stores beside
// the correlation id; the relay's send and the handling are its children, and
// the handling links to it too.
func TestEventsCarryTheTraceContext(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	w := newTracedWorld(t, tp)
	ctx, request := tp.Tracer("test").Start(correlation.With(context.Background(), "req-5"), "POST /deposits")
	w.publish(t, ctx, 1)
	request.End()

	handled := w.wait(t, 1)
	apptest.Eventually(t, 5*time.Second, "the send and the handling recorded", func() bool {
		s := spans(exp)
		_, sent := s["send test.traced.v1"]
		_, processed := s["process test.traced.v1"]
		return sent && processed
	})
	s := spans(exp)
	tx, write := s["transaction traced"], s["create test.traced.v1"]
	send, process := s["send test.traced.v1"], s["process test.traced.v1"]
	switch {
	case tx.Parent.SpanID() != request.SpanContext().SpanID():
		t.Fatalf("the transaction's parent is %v, want the request", tx.Parent.SpanID())
	case write.Parent.SpanID() != tx.SpanContext.SpanID():
		t.Fatalf("the outbox write's parent is %v, want the transaction", write.Parent.SpanID())
	case send.Parent.SpanID() != write.SpanContext.SpanID() || send.SpanKind != trace.SpanKindProducer:
		t.Fatalf("the send's parent is %v, want the outbox write", send.Parent.SpanID())
	case process.Parent.SpanID() != write.SpanContext.SpanID() || process.SpanKind != trace.SpanKindConsumer:
		t.Fatalf("the handling's parent is %v, want the outbox write", process.Parent.SpanID())
	case len(process.Links) != 1 || process.Links[0].SpanContext.SpanID() != write.SpanContext.SpanID():
		t.Fatalf("the handling links to %v, want the outbox write", process.Links)
	case !handled.Equal(process.SpanContext):
		t.Fatalf("the handler runs in %v, want the handling's span", handled)
	}
	if a := attrs(process); a["messaging.destination.name"] != "test.traced.v1" || a["uberservice.module"] != "traced" || a["messaging.message.id"] == "" {
		t.Fatalf("the handling's attributes %v lack the topic, the module or the message id", a)
	}
	if attrs(send)["messaging.message.id"] != attrs(process)["messaging.message.id"] {
		t.Fatal("the send and the handling name different messages")
	}

}

// The row's metadata is what a module that does not record reads: the
// header's keys and format, beside the correlation id.
func TestTheOutboxStoresTheTraceparent(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	w := newTracedWorld(t, nil)
	ctx, writer := tp.Tracer("test").Start(correlation.With(context.Background(), "req-6"), "POST /deposits")
	w.publish(t, ctx, 2)
	writer.End()
	var raw []byte
	if err := w.db.Raw("SELECT metadata FROM outbox").Row().Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var md map[string]string
	if err := json.Unmarshal(raw, &md); err != nil {
		t.Fatal(err)
	}
	stored := trace.SpanContextFromContext(tracing.Extract(context.Background(), md))
	if len(md[tracing.MetadataKey]) != 55 || stored.TraceID() != writer.SpanContext().TraceID() || md[correlation.MetadataKey] != "req-6" {
		t.Fatalf("outbox metadata %v, want the writer's trace and correlation_id req-6", md)
	}
}

// A module whose tracing is off hands the trace on: its handler runs in the
// trace the event carries.
func TestAnUntracedConsumerCarriesTheEventsTraceOn(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	w := newTracedWorld(t, noop.NewTracerProvider())
	ctx, writer := tp.Tracer("test").Start(context.Background(), "POST /deposits")
	w.publish(t, ctx, 3)
	writer.End()
	if h := w.wait(t, 3); h.TraceID() != writer.SpanContext().TraceID() {
		t.Fatalf("the untraced handler runs in trace %v, want the writer's %v", h.TraceID(), writer.SpanContext().TraceID())
	}
}

// An event published outside any trace is handled in a trace of its own.
func TestAnUntracedEventIsHandledInATraceOfItsOwn(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	w := newTracedWorld(t, tp)
	w.publish(t, context.Background(), 1)
	h := w.wait(t, 1)
	if !h.IsValid() {
		t.Fatal("the handler runs outside any trace")
	}
	apptest.Eventually(t, 5*time.Second, "the handling recorded", func() bool {
		_, ok := spans(exp)["process test.traced.v1"]
		return ok
	})
	if p := spans(exp)["process test.traced.v1"]; p.Parent.IsValid() || len(p.Links) != 0 {
		t.Fatalf("the handling has parent %v and links %v, want neither", p.Parent, p.Links)
	}
}
