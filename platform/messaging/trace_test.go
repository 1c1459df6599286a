package messaging_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/tracecontext"
)

type traced struct {
	N int `json:"n"`
}

func (traced) Topic() string { return "test.traced.v1" }

// An event carries the trace of the work that published it: the outbox row
// has its traceparent beside the correlation id, and the handler runs in a
// new span of the same trace. An event published outside any trace is handled
// in a trace of its own.
func TestEventsCarryTheTraceContext(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, apptest.FreshDatabase(t), "traced", database.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := database.Migrate(ctx, db, database.PlatformMigrations(), database.PlatformTable); err != nil {
		t.Fatal(err)
	}
	publish := func(ctx context.Context, n int) {
		t.Helper()
		if err := db.Transact(ctx, func(tx *gorm.DB) error { return outboxOf(traced{}).Publish(ctx, tx, traced{N: n}) }); err != nil {
			t.Fatal(err)
		}
	}

	span := tracecontext.New()
	publish(tracecontext.With(correlation.With(ctx, "req-5"), span), 1)
	var raw []byte
	if err := db.Raw("SELECT metadata FROM outbox").Row().Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var md map[string]string
	if err := json.Unmarshal(raw, &md); err != nil {
		t.Fatal(err)
	}
	if md[tracecontext.MetadataKey] != span.String() || md[correlation.MetadataKey] != "req-5" {
		t.Fatalf("outbox metadata %v, want traceparent %s and correlation_id req-5", md, span)
	}

	var mu sync.Mutex
	handled := map[int]tracecontext.Span{}
	consumers := messaging.NewConsumers("traced", db, messaging.RetryPolicy{}, apptest.Logger(t))
	messaging.Handle(consumers, func(ctx context.Context, _ *gorm.DB, e traced) error {
		s, _ := tracecontext.From(ctx)
		mu.Lock()
		defer mu.Unlock()
		handled[e.N] = s
		return nil
	})
	bus := messaging.NewInProcess(slog.New(slog.DiscardHandler))
	runCtx, cancel := context.WithCancel(ctx)
	sub, _ := bus.Subscriber("traced")
	if err := consumers.Start(runCtx, sub); err != nil {
		t.Fatal(err)
	}
	relay := messaging.NewRelay(db, bus.Publisher(), "traced", apptest.Logger(t))
	done := make(chan struct{})
	go func() { relay.Run(runCtx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; consumers.Close(); bus.Close() })

	publish(ctx, 2) // no trace
	apptest.Eventually(t, 5*time.Second, "both events handled", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(handled) == 2
	})
	mu.Lock()
	defer mu.Unlock()
	if h := handled[1]; h.TraceID != span.TraceID || h.SpanID == span.SpanID || !h.SpanID.IsValid() {
		t.Fatalf("handler span %v, want a new span in trace %v", h, span.TraceID)
	}
	if h := handled[2]; !h.IsValid() || h.TraceID == span.TraceID {
		t.Fatalf("handler span %v for an untraced event, want a new trace", h)
	}
}
