package messaging_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/tracing"
)

// The outbox benchmarks need Postgres, like the package's tests: without it
// apptest.FreshDatabase fails the benchmark rather than skipping it. Every run
// of a benchmark function gets a fresh database, made before the timer starts.

type benched struct {
	AccountID string `json:"account_id"`
	Amount    int64  `json:"amount"`
	Currency  string `json:"currency"`
	N         int    `json:"n"`
}

func (benched) Topic() string { return "bench.funds_deposited.v1" }

// benchEvent is an event of the size accounts publishes for a deposit.
// benchOutbox publishes the benchmarks' events.
var benchOutbox = outboxOf(benched{})

func benchEvent(n int) benched {
	return benched{AccountID: "0195f0a0-1111-7000-8000-000000000001", Amount: 100_00, Currency: "EUR", N: n}
}

// benchContext is the context of a request that publishes: its correlation id
// and trace context go into every outbox row's metadata.
func benchContext() context.Context {
	return tracing.Extract(correlation.With(context.Background(), "req-bench"),
		map[string]string{tracing.MetadataKey: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
}

// BenchmarkPublish is the price of an event to the transaction that makes the
// change: one op is a transaction that writes one event to the outbox and
// commits. No relay runs, so nothing competes with the writes; the outbox just
// grows.
func BenchmarkPublish(b *testing.B) {
	db := platformSchema(b, apptest.FreshDatabase(b), "producer")
	ctx := benchContext()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		if err := db.Transact(ctx, func(tx *gorm.DB) error {
			return benchOutbox.Publish(ctx, tx, benchEvent(n))
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRelay is the throughput from a committed outbox to a consumer on the
// in-process bus: one op is one event read from the outbox by the Relay,
// published, handled by a consumer (a no-op handler, so its transaction only
// records the message in the inbox) and deleted from the outbox.
//
// The b.N events are committed before the timer starts, 100 per transaction,
// and the relay starts with the timer, so the time is the relay and the
// consumer draining a backlog, not the writers filling it (BenchmarkPublish
// prices that). An event counts once the bus has taken it, which on the
// in-process bus means once the consumer's transaction has committed.
func BenchmarkRelay(b *testing.B) {
	ctx := context.Background()
	url := apptest.FreshDatabase(b)
	log := apptest.Logger(b)
	producer := platformSchema(b, url, "producer")
	consumer := platformSchema(b, url, "consumer")

	bus := messaging.NewInProcess(slog.New(slog.DiscardHandler))
	b.Cleanup(func() { bus.Close() })
	consumers := messaging.NewConsumers("consumer", consumer, messaging.RetryPolicy{}, log)
	messaging.Handle(consumers, func(context.Context, *gorm.DB, benched) error { return nil })
	runCtx, cancel := context.WithCancel(ctx)
	b.Cleanup(cancel)
	sub, err := bus.Subscriber("consumer")
	if err != nil {
		b.Fatal(err)
	}
	if err := consumers.Start(runCtx, sub); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { consumers.Close() })

	const batch = 100
	pctx := benchContext()
	for first := 0; first < b.N; first += batch {
		err := producer.Transact(pctx, func(tx *gorm.DB) error {
			for n := first; n < min(first+batch, b.N); n++ {
				if err := benchOutbox.Publish(pctx, tx, benchEvent(n)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatalf("commit events %d and on: %v", first, err)
		}
	}

	pub := &countingPublisher{Publisher: bus.Publisher(), want: int64(b.N), done: make(chan struct{})}
	relay := messaging.NewRelay(producer, pub, "producer", log)
	relayed := make(chan struct{})
	b.ReportAllocs()
	b.ResetTimer()
	go func() { relay.Run(runCtx); close(relayed) }()
	b.Cleanup(func() { cancel(); <-relayed }) // the relay logs to b: stop it before b ends
	select {
	case <-pub.done:
	case <-time.After(time.Minute):
		b.Fatalf("the consumer handled %d of %d events within a minute", pub.n.Load(), b.N)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// countingPublisher closes done once want messages have been published. The
// in-process bus returns from Publish only when every subscriber has
// acknowledged the message, that is when its handler has committed.
type countingPublisher struct {
	message.Publisher
	want int64
	n    atomic.Int64
	done chan struct{}
}

func (p *countingPublisher) Publish(topic string, msgs ...*message.Message) error {
	if err := p.Publisher.Publish(topic, msgs...); err != nil {
		return fmt.Errorf("bench: publish %s: %w", topic, err)
	}
	if p.n.Add(int64(len(msgs))) == p.want {
		close(p.done)
	}
	return nil
}
