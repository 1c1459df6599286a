package messaging_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/messaging"
)

// pingedV2 is the second version of pinged: its number is renamed, a change
// that breaks pinged's readers. Its consumers of the first version still get
// it, as pinged, through Previous.
type pingedV2 struct {
	Count int `json:"count"`
}

func (pingedV2) Topic() string { return "test.pinged.v2" }

func (e pingedV2) Previous() interface{ Topic() string } { return pinged{N: e.Count} }

// versionsFixture is a producer that writes pingedV2 and declares both
// versions, and a consumer schema whose handlers record which version they
// applied.
type versionsFixture struct {
	producer, consumer *database.DB
	bus                *messaging.InProcess
	outbox             *messaging.Outbox

	mu   sync.Mutex
	seen map[string][]string // topic -> message ids the bus carried
}

func newVersionsFixture(t *testing.T) *versionsFixture {
	t.Helper()
	url := apptest.FreshDatabase(t)
	f := &versionsFixture{bus: messaging.NewInProcess(slog.New(slog.DiscardHandler)), seen: map[string][]string{}}
	f.producer = platformSchema(t, url, "producer")
	f.consumer = platformSchema(t, url, "consumer")
	if err := f.consumer.Exec("CREATE TABLE pings (n int NOT NULL, version int NOT NULL)").Error; err != nil {
		t.Fatal(err)
	}
	payloads := []messaging.Event{pingedV2{}, pinged{}}
	f.outbox = messaging.NewOutbox("producer", []string{"test.pinged.v2", "test.pinged.v1"}).
		WithVersions(messaging.NewVersions(payloads))
	ctx, cancel := context.WithCancel(context.Background())
	// A bystander group on both versions, to see what the relay sends.
	watch, _ := f.bus.Subscriber("watch")
	for _, topic := range []string{"test.pinged.v1", "test.pinged.v2"} {
		msgs, err := watch.Subscribe(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for m := range msgs {
				f.mu.Lock()
				f.seen[topic] = append(f.seen[topic], m.UUID)
				f.mu.Unlock()
				m.Ack()
			}
		}()
	}
	relay := messaging.NewRelay(f.producer, f.bus.Publisher(), "producer", apptest.Logger(t)).
		WithVersions(messaging.NewVersions(payloads))
	done := make(chan struct{})
	go func() { relay.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; f.bus.Close() })
	return f
}

// consume starts a process of the consumer module with one handler, as an
// instance of an old build (pinged) or a new one (pingedV2) would.
func consume[E messaging.Event](t *testing.T, f *versionsFixture, version int, n func(E) int) {
	t.Helper()
	c := messaging.NewConsumers("consumer", f.consumer, messaging.RetryPolicy{}, apptest.Logger(t))
	messaging.Handle(c, func(_ context.Context, tx *gorm.DB, e E) error {
		return tx.Exec("INSERT INTO pings (n, version) VALUES (?, ?)", n(e), version).Error
	})
	sub, _ := f.bus.Subscriber("consumer")
	if err := c.Start(t.Context(), sub); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
}

func (f *versionsFixture) publish(t *testing.T, from, to int) {
	t.Helper()
	err := f.producer.Transact(t.Context(), func(tx *gorm.DB) error {
		for n := from; n <= to; n++ {
			if err := f.outbox.Publish(t.Context(), tx, pingedV2{Count: n}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// pings returns, by n, the versions whose handler applied event n.
func (f *versionsFixture) pings(t *testing.T) map[int][]int {
	t.Helper()
	var rows []struct{ N, Version int }
	if err := f.consumer.Raw("SELECT n, version FROM pings").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	out := map[int][]int{}
	for _, r := range rows {
		out[r.N] = append(out[r.N], r.Version)
	}
	return out
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// One outbox row goes out on both versions, with one message id; an old
// instance reading v1 and a new one reading v2 of one module apply each
// event once between them.
func TestOneRowIsPublishedOnEveryVersionAndHandledOnce(t *testing.T) {
	f := newVersionsFixture(t)
	consume(t, f, 1, func(e pinged) int { return e.N })
	consume(t, f, 2, func(e pingedV2) int { return e.Count })
	const events = 40
	for n := 1; n <= events; n += 4 {
		f.publish(t, n, n+3)
	}
	eventually(t, "every event on both versions", func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return len(f.seen["test.pinged.v1"]) == events && len(f.seen["test.pinged.v2"]) == events
	})
	f.mu.Lock()
	v1, v2 := slices.Sorted(slices.Values(f.seen["test.pinged.v1"])), slices.Sorted(slices.Values(f.seen["test.pinged.v2"]))
	f.mu.Unlock()
	if !slices.Equal(v1, v2) {
		t.Fatalf("the versions' message ids differ:\nv1 %v\nv2 %v", v1, v2)
	}
	eventually(t, "every event handled", func() bool { return len(f.pings(t)) == events })
	time.Sleep(200 * time.Millisecond) // room for a second effect, were there one
	for n, versions := range f.pings(t) {
		if len(versions) != 1 {
			t.Errorf("event %d applied by versions %v, want once", n, versions)
		}
	}
	var outbox int64
	if err := f.producer.Raw("SELECT count(*) FROM outbox").Row().Scan(&outbox); err != nil || outbox != 0 {
		t.Fatalf("outbox holds %d rows (%v), want none left", outbox, err)
	}
}

// A consumer that reads only the old version gets every event, converted.
func TestAnOldReaderGetsEveryEventConverted(t *testing.T) {
	f := newVersionsFixture(t)
	consume(t, f, 1, func(e pinged) int { return e.N })
	f.publish(t, 1, 5)
	eventually(t, "every event handled", func() bool { return len(f.pings(t)) == 5 })
	for n, versions := range f.pings(t) {
		if n < 1 || n > 5 || !slices.Equal(versions, []int{1}) {
			t.Errorf("event %d applied by versions %v, want [1]", n, versions)
		}
	}
}

// A versioned event is refused when its older version is not declared, or
// when it is not among the declared payloads: the relay could not publish
// the older version.
func TestAVersionedEventNeedsItsVersionsDeclared(t *testing.T) {
	db := platformSchema(t, apptest.FreshDatabase(t), "undeclared")
	for name, o := range map[string]*messaging.Outbox{
		"older topic": messaging.NewOutbox("test", []string{"test.pinged.v2"}).
			WithVersions(messaging.NewVersions([]messaging.Event{pingedV2{}})),
		"payload": messaging.NewOutbox("test", []string{"test.pinged.v2", "test.pinged.v1"}),
	} {
		err := db.Transact(t.Context(), func(tx *gorm.DB) error {
			return o.Publish(t.Context(), tx, pingedV2{Count: 1})
		})
		if !errors.Is(err, messaging.ErrUndeclaredTopic) {
			t.Errorf("%s undeclared: %v, want ErrUndeclaredTopic", name, err)
		}
	}
	if got := messaging.Older(pingedV2{}); !slices.Equal(got, []string{"test.pinged.v1"}) {
		t.Fatalf("Older(pingedV2) = %v", got)
	}
}
