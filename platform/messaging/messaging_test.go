package messaging_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
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
)

type pinged struct {
	N int `json:"n"`
}

func (pinged) Topic() string { return "test.pinged.v1" }

// fixture is a producer schema with an outbox and relay and a consumer schema
// with a handler, on one in-process bus.
type fixture struct {
	producer, consumer *database.DB
	consumers          *messaging.Consumers
	bus                *messaging.InProcess
	mu                 sync.Mutex
	seen               []int
	fail               atomic.Int32 // fail this many more deliveries
	correlations       []string
	held               chan struct{} // when set, the handler of N=1 waits for it to close
}

func newFixture(t *testing.T, policy messaging.RetryPolicy) *fixture {
	t.Helper()
	ctx := context.Background()
	url := apptest.FreshDatabase(t)
	log := apptest.Logger(t)
	f := &fixture{bus: messaging.NewInProcess(slog.New(slog.DiscardHandler))}
	for _, s := range []struct {
		db   **database.DB
		name string
	}{{&f.producer, "producer"}, {&f.consumer, "consumer"}} {
		db, err := database.Open(ctx, url, s.name, database.PoolOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := database.Migrate(ctx, db, database.PlatformMigrations(), database.PlatformTable); err != nil {
			t.Fatal(err)
		}
		*s.db = db
		t.Cleanup(func() { db.Close() })
	}
	f.consumers = messaging.NewConsumers("consumer", f.consumer, policy, log)
	messaging.Handle(f.consumers, func(ctx context.Context, tx *gorm.DB, e pinged) error {
		if e.N == 1 && f.held != nil {
			<-f.held
		}
		if f.fail.Load() > 0 {
			f.fail.Add(-1)
			return errors.New("induced failure")
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.seen = append(f.seen, e.N)
		f.correlations = append(f.correlations, correlation.ID(ctx))
		return nil
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

func (f *fixture) publish(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	err := f.producer.Transact(ctx, func(tx *gorm.DB) error {
		return messaging.Publish(ctx, tx, pinged{N: n})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) seenCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.seen)
}

func TestCommittedEventsReachTheHandlerWithTheirCorrelation(t *testing.T) {
	f := newFixture(t, messaging.RetryPolicy{})
	ctx := correlation.With(context.Background(), "req-42")
	start := time.Now()
	for i := 1; i <= 5; i++ {
		f.publish(t, ctx, i)
	}
	apptest.Eventually(t, 5*time.Second, "five events handled", func() bool { return f.seenCount() == 5 })
	// Nudged on commit, not found by the 2s safety poll.
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("events took %s to arrive; the relay was not nudged on commit", took)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if got := slices.Sorted(slices.Values(f.seen)); !slices.Equal(got, []int{1, 2, 3, 4, 5}) {
		t.Fatalf("handled %v, want 1..5 once each", f.seen)
	}
	for i := range f.seen {
		if f.correlations[i] != "req-42" {
			t.Fatalf("correlation %q, want req-42", f.correlations[i])
		}
	}
	apptest.Eventually(t, 5*time.Second, "outbox emptied by the relay", func() bool {
		var left int64
		return f.producer.Raw("SELECT count(*) FROM outbox").Scan(&left).Error == nil && left == 0
	})
}

// In one process a topic's events are handled several at a time: a slow
// handler holds up its own message, not those published beside it.
func TestASlowHandlerDoesNotHoldUpTheEventsBesideIt(t *testing.T) {
	f := newFixture(t, messaging.RetryPolicy{})
	f.held = make(chan struct{})
	released := false
	release := func() {
		if !released {
			released = true
			close(f.held)
		}
	}
	defer release()
	ctx := context.Background()
	err := f.producer.Transact(ctx, func(tx *gorm.DB) error {
		for n := 1; n <= 5; n++ {
			if err := messaging.Publish(ctx, tx, pinged{N: n}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 5*time.Second, "events 2..5 handled while 1 is held", func() bool { return f.seenCount() == 4 })
	release()
	apptest.Eventually(t, 5*time.Second, "event 1 handled once released", func() bool { return f.seenCount() == 5 })
}

func TestRolledBackEventsAreNeverPublished(t *testing.T) {
	f := newFixture(t, messaging.RetryPolicy{})
	err := f.producer.Transact(context.Background(), func(tx *gorm.DB) error {
		if err := messaging.Publish(context.Background(), tx, pinged{N: 1}); err != nil {
			return err
		}
		return errors.New("business rule failed")
	})
	if err == nil {
		t.Fatal("transaction should have failed")
	}
	f.publish(t, context.Background(), 2)
	apptest.Eventually(t, 5*time.Second, "the committed event handled", func() bool { return f.seenCount() == 1 })
	if f.seen[0] != 2 {
		t.Fatalf("handled %v, want only the committed event 2", f.seen)
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
	apptest.Eventually(t, 5*time.Second, "later event handled", func() bool { return f.seenCount() >= 2 })
	time.Sleep(100 * time.Millisecond)
	if got := f.seenCount(); got != 2 {
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
	apptest.Eventually(t, 5*time.Second, "retried event handled", func() bool { return f.seenCount() == 1 })

	// Fails every time: dead after three attempts, and the next event is not held up.
	f.fail.Store(1000)
	f.publish(t, ctx, 2)
	var dl []messaging.DeadLetter
	apptest.Eventually(t, 5*time.Second, "event dead-lettered", func() bool {
		var err error
		dl, err = f.consumers.DeadLetters(ctx)
		return err == nil && len(dl) == 1 && dl[0].Status == "dead"
	})
	if dl[0].Attempts != 3 || dl[0].LastError == "" {
		t.Fatalf("dead letter %+v, want 3 attempts and the error", dl[0])
	}
	f.fail.Store(0)
	f.publish(t, ctx, 3)
	apptest.Eventually(t, 5*time.Second, "next event handled", func() bool { return f.seenCount() == 2 })

	if err := f.consumers.Replay(ctx, dl[0].ID); err != nil {
		t.Fatalf("replay: %v", err)
	}
	if f.seenCount() != 3 {
		t.Fatalf("replay did not apply the event: seen %v", f.seen)
	}
	if left, _ := f.consumers.DeadLetters(ctx); len(left) != 0 {
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
	dl, err := f.consumers.DeadLetters(context.Background())
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
