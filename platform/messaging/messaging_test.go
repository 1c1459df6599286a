package messaging_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/page"
)

type pinged struct {
	N int `json:"n"`
}

func (pinged) Topic() string { return "test.pinged.v1" }

// pings publishes pinged events, as a module that declares them would.
var pings = outboxOf(pinged{})

// outboxOf is the outbox of a test module that publishes the topics of events.
func outboxOf(events ...messaging.Event) *messaging.Outbox {
	var topics []string
	for _, e := range events {
		topics = append(topics, e.Topic())
	}
	return messaging.NewOutbox("test", topics)
}

// An event on a topic the module did not declare is refused at the call,
// and nothing reaches the outbox.
func TestAnUndeclaredTopicIsRefused(t *testing.T) {
	db := platformSchema(t, apptest.FreshDatabase(t), "undeclared")
	err := db.Transact(t.Context(), func(tx *gorm.DB) error {
		return outboxOf(traced{}).Publish(t.Context(), tx, traced{N: 1}, pinged{N: 2})
	})
	if !errors.Is(err, messaging.ErrUndeclaredTopic) || !strings.Contains(err.Error(), "module test publishes test.pinged.v1") {
		t.Fatalf("publishing an undeclared topic: %v, want ErrUndeclaredTopic naming the module and topic", err)
	}
	var rows int64
	if err := db.Raw("SELECT count(*) FROM outbox").Row().Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("outbox holds %d rows (%v), want none", rows, err)
	}
}

// fixture is a producer schema with an outbox and relay and a consumer schema
// with a handler, on one in-process bus.
type fixture struct {
	producer, consumer *database.DB
	consumers          *messaging.Consumers
	bus                *messaging.InProcess
	fail               atomic.Int32 // fail this many more deliveries
	poison             atomic.Int32 // when set, the event with this N always fails
	panicOn            atomic.Int32 // when set, the event with this N panics (after fail's failures)

	mu     sync.Mutex
	panics []time.Time // when the handler panicked
}

// newFixture registers the consumer's handler with HandleBatched.
func newFixture(t *testing.T, policy messaging.RetryPolicy) *fixture {
	t.Helper()
	return newFixtureWith(t, policy, messaging.HandleBatched[pinged])
}

// newFixtureWith registers the consumer's handler with register: Handle or
// HandleBatched.
func newFixtureWith(t *testing.T, policy messaging.RetryPolicy, register func(*messaging.Consumers, messaging.HandlerFunc[pinged])) *fixture {
	t.Helper()
	ctx := context.Background()
	url := apptest.FreshDatabase(t)
	log := apptest.Logger(t)
	f := &fixture{bus: messaging.NewInProcess(slog.New(slog.DiscardHandler))}
	f.producer = platformSchema(t, url, "producer")
	f.consumer = platformSchema(t, url, "consumer")
	if err := f.consumer.Exec("CREATE TABLE pings (seq bigint GENERATED ALWAYS AS IDENTITY, n int NOT NULL, correlation text NOT NULL)").Error; err != nil {
		t.Fatal(err)
	}
	f.consumers = messaging.NewConsumers("consumer", f.consumer, policy, log)
	// Batched by default: the handler only inserts, and the tests see both
	// ways of applying events, batches and the event-by-event retry of a
	// failed one.
	register(f.consumers, func(ctx context.Context, tx *gorm.DB, e pinged) error {
		if n := f.poison.Load(); n != 0 && int32(e.N) == n {
			return messaging.Permanent(errors.New("poison \x00\xff")) // and no text column takes it as it is
		}
		if f.fail.Load() > 0 {
			f.fail.Add(-1)
			return errors.New("induced failure")
		}
		if n := f.panicOn.Load(); n != 0 && int32(e.N) == n {
			f.mu.Lock()
			f.panics = append(f.panics, time.Now())
			f.mu.Unlock()
			panic(fmt.Sprintf("poison %d", e.N))
		}
		// The handler's effect, in its transaction: a batch that is retried
		// event by event leaves no trace of its first try.
		return tx.Exec("INSERT INTO pings (n, correlation) VALUES (?, ?)", e.N, correlation.ID(ctx)).Error
	})
	runCtx, cancel := context.WithCancel(ctx)
	sub, _ := f.bus.Subscriber("consumer")
	if err := f.consumers.Start(runCtx, sub); err != nil {
		t.Fatal(err)
	}
	relay := messaging.NewRelay(f.producer, f.bus.Publisher(), "producer", log)
	done := make(chan struct{})
	go func() { relay.Run(runCtx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		f.consumers.Close()
		f.bus.Close()
	})
	return f
}

// platformSchema opens schema in the database at url with the platform's
// tables (outbox, inbox, dead letters...), and closes it when tb ends.
func platformSchema(tb testing.TB, url, schema string) *database.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, url, schema, database.PoolOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := database.Migrate(ctx, db, database.PlatformMigrations(), database.PlatformTable); err != nil {
		tb.Fatal(err)
	}
	return db
}

func (f *fixture) publish(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	f.publishAll(t, ctx, n, n)
}

// publishAll publishes the events from..to in one transaction, so that they
// reach the consumer together, as a batch.
func (f *fixture) publishAll(t *testing.T, ctx context.Context, from, to int) {
	t.Helper()
	err := f.producer.Transact(ctx, func(tx *gorm.DB) error {
		for n := from; n <= to; n++ {
			if err := pings.Publish(ctx, tx, pinged{N: n}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// handled lists the events the handler has applied, in the order it applied
// them, with their correlation ids.
func (f *fixture) handled(t *testing.T) (ns []int, correlations []string) {
	t.Helper()
	rows, err := f.consumer.Raw("SELECT n, correlation FROM pings ORDER BY seq").Rows()
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int
		var c string
		if err := rows.Scan(&n, &c); err != nil {
			t.Fatal(err)
		}
		ns, correlations = append(ns, n), append(correlations, c)
	}
	return ns, correlations
}

func (f *fixture) seenCount(t *testing.T) int {
	ns, _ := f.handled(t)
	return len(ns)
}

// deadLetters lists the fixture's dead letters: one page holds the few a
// test makes.
// awaitPoisonDead waits until the poison event is the one dead letter.
func (f *fixture) awaitPoisonDead(t *testing.T) {
	t.Helper()
	apptest.Eventually(t, 10*time.Second, "the poison event dead-lettered", func() bool {
		dl, err := f.deadLetters(context.Background())
		return err == nil && len(dl) == 1 && dl[0].Status == "dead"
	})
}

func (f *fixture) deadLetters(ctx context.Context) ([]messaging.DeadLetter, error) {
	p, err := f.consumers.DeadLetters(ctx, page.Request{Limit: page.MaxLimit})
	return p.Items, err
}

func TestCommittedEventsReachTheHandlerWithTheirCorrelation(t *testing.T) {
	f := newFixture(t, messaging.RetryPolicy{})
	ctx := correlation.With(context.Background(), "req-42")
	start := time.Now()
	for i := 1; i <= 5; i++ {
		f.publish(t, ctx, i)
	}
	apptest.Eventually(t, 5*time.Second, "five events handled", func() bool { return f.seenCount(t) == 5 })
	// Nudged on commit, not found by the 2s safety poll.
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("events took %s to arrive; the relay was not nudged on commit", took)
	}
	seen, correlations := f.handled(t)
	if got := slices.Sorted(slices.Values(seen)); !slices.Equal(got, []int{1, 2, 3, 4, 5}) {
		t.Fatalf("handled %v, want 1..5 once each", seen)
	}
	for i := range seen {
		if correlations[i] != "req-42" {
			t.Fatalf("correlation %q, want req-42", correlations[i])
		}
	}
	apptest.Eventually(t, 5*time.Second, "outbox emptied by the relay", func() bool {
		var left int64
		return f.producer.Raw("SELECT count(*) FROM outbox").Scan(&left).Error == nil && left == 0
	})
}

// Events that arrive together are applied in one transaction. One that fails
// takes the batch down with it, and then every event of the batch is applied
// on its own: the failure is recorded against the one that causes it, and the
// others are handled once each.
func TestAFailingEventInABatchFailsAloneAndTheOthersAreHandledOnce(t *testing.T) {
	f := newFixture(t, messaging.RetryPolicy{})
	f.poison.Store(7)
	ctx := context.Background()
	f.publishAll(t, ctx, 1, 40)
	f.awaitPoisonDead(t)
	var want []int
	for n := 1; n <= 40; n++ {
		if n != 7 {
			want = append(want, n)
		}
	}
	apptest.Eventually(t, 10*time.Second, "every other event handled", func() bool { return f.seenCount(t) >= len(want) })
	time.Sleep(200 * time.Millisecond) // a second effect would show by now
	seen, _ := f.handled(t)
	if got := slices.Sorted(slices.Values(seen)); !slices.Equal(got, want) {
		t.Fatalf("effects of %v, want every event but 7, once each", seen)
	}
	var inbox int64
	if err := f.consumer.Raw("SELECT count(*) FROM inbox").Scan(&inbox).Error; err != nil || inbox != 39 {
		t.Fatalf("inbox has %d rows (%v), want 39: the poison event's row rolled back with it", inbox, err)
	}
}

func TestRolledBackEventsAreNeverPublished(t *testing.T) {
	f := newFixture(t, messaging.RetryPolicy{})
	err := f.producer.Transact(context.Background(), func(tx *gorm.DB) error {
		if err := pings.Publish(context.Background(), tx, pinged{N: 1}); err != nil {
			return err
		}
		return errors.New("business rule failed")
	})
	if err == nil {
		t.Fatal("transaction should have failed")
	}
	f.publish(t, context.Background(), 2)
	apptest.Eventually(t, 5*time.Second, "the committed event handled", func() bool { return f.seenCount(t) == 1 })
	if seen, _ := f.handled(t); seen[0] != 2 {
		t.Fatalf("handled %v, want only the committed event 2", seen)
	}
}

func TestRedeliveredMessageHasOneEffect(t *testing.T) {
	f := newFixture(t, messaging.RetryPolicy{})
	for range 3 {
		msg := message.NewMessage("0195f0a0-0000-7000-8000-000000000001", []byte(`{"n":7}`))
		if err := f.bus.Publisher().Publish(pinged{}.Topic(), msg); err != nil {
			t.Fatal(err)
		}
	}
	f.publish(t, context.Background(), 8) // a later event still flows
	apptest.Eventually(t, 5*time.Second, "later event handled", func() bool { return f.seenCount(t) >= 2 })
	time.Sleep(100 * time.Millisecond)
	if got := f.seenCount(t); got != 2 {
		t.Fatalf("handled %d times, want 2 (one for the thrice-delivered message, one for the next)", got)
	}
}

func TestFailingHandlerIsRetriedThenDeadAndCanBeReplayed(t *testing.T) {
	policy := messaging.RetryPolicy{MaxAttempts: 3, Backoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	f := newFixture(t, policy)
	ctx := context.Background()

	// Fails twice, then succeeds on the third attempt: retried, not dead.
	f.fail.Store(2)
	f.publish(t, ctx, 1)
	apptest.Eventually(t, 5*time.Second, "retried event handled", func() bool { return f.seenCount(t) == 1 })

	// Fails every time: dead after three attempts, and the next event is not held up.
	f.fail.Store(1000)
	f.publish(t, ctx, 2)
	var dl []messaging.DeadLetter
	apptest.Eventually(t, 5*time.Second, "event dead-lettered", func() bool {
		var err error
		dl, err = f.deadLetters(ctx)
		return err == nil && len(dl) == 1 && dl[0].Status == "dead"
	})
	if dl[0].Attempts != 3 || dl[0].LastError == "" {
		t.Fatalf("dead letter %+v, want 3 attempts and the error", dl[0])
	}
	f.fail.Store(0)
	f.publish(t, ctx, 3)
	apptest.Eventually(t, 5*time.Second, "next event handled", func() bool { return f.seenCount(t) == 2 })

	if err := f.consumers.Replay(ctx, dl[0].ID); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if f.seenCount(t) != 3 {
		seen, _ := f.handled(t)
		t.Fatalf("replay did not apply the event: handled %v", seen)
	}
	if left, _ := f.deadLetters(ctx); len(left) != 0 {
		t.Fatalf("dead letter still there after a successful replay: %+v", left)
	}
	if err := f.consumers.Replay(ctx, dl[0].ID); !errors.Is(err, messaging.ErrNoDeadLetter) {
		t.Fatalf("second replay: %v, want ErrNoDeadLetter", err)
	}
}

func TestUndecodablePayloadIsDeadAtOnce(t *testing.T) {
	f := newFixture(t, messaging.RetryPolicy{MaxAttempts: 5, Backoff: time.Hour})
	if err := f.bus.Publisher().Publish(pinged{}.Topic(), message.NewMessage("0195f0a0-0000-7000-8000-0000000000aa", []byte("not json"))); err != nil {
		t.Fatal(err)
	}
	dl, err := f.deadLetters(context.Background())
	if err != nil || len(dl) != 1 || dl[0].Status != "dead" || dl[0].Attempts != 1 {
		t.Fatalf("dead letters %+v (%v), want one dead after one attempt", dl, err)
	}
}

func TestClosingOneGroupLeavesTheOthersSubscribed(t *testing.T) {
	bus := messaging.NewInProcess(slog.New(slog.DiscardHandler))
	defer bus.Close()
	a, _ := bus.Subscriber("a")
	b, _ := bus.Subscriber("b")
	ctx := context.Background()
	if _, err := a.Subscribe(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	msgs, err := b.Subscribe(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = bus.Publisher().Publish("t", message.NewMessage("m1", []byte("{}"))) }()
	select {
	case m, ok := <-msgs:
		if !ok {
			t.Fatal("closing group a closed group b's subscription")
		}
		m.Ack()
	case <-time.After(5 * time.Second):
		t.Fatal("group b received nothing after group a closed")
	}
}
