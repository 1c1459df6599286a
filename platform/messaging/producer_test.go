package messaging_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/build"
	"github.com/uberservice/uberservice/platform/messaging"
)

type stamped struct {
	N int `json:"n"`
}

func (stamped) Topic() string { return "test.stamped.v1" }

// Every event names its producer: the outbox stores the module, the build's
// version and the process's instance in the row, the relay carries them on
// the message, and a handler reads them with ProducerOf.
func TestEveryEventNamesItsProducer(t *testing.T) {
	ctx := t.Context()
	db := platformSchema(t, apptest.FreshDatabase(t), "stamped")
	outbox := messaging.NewOutbox("stamped", []string{stamped{}.Topic()})
	outbox.SetInstance("instance-1")
	if err := db.Transact(ctx, func(tx *gorm.DB) error { return outbox.Publish(ctx, tx, stamped{N: 1}) }); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		messaging.MetaProducer:         "stamped",
		messaging.MetaProducerVersion:  build.Version(),
		messaging.MetaProducerInstance: "instance-1",
	}
	var raw []byte
	if err := db.Raw("SELECT metadata FROM outbox").Row().Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var row map[string]string
	if err := json.Unmarshal(raw, &row); err != nil {
		t.Fatal(err)
	}
	for k, v := range want {
		if row[k] != v {
			t.Errorf("outbox row's %s = %q, want %q (metadata %s)", k, row[k], v, raw)
		}
	}

	bus := messaging.NewInProcess(slog.New(slog.DiscardHandler))
	t.Cleanup(func() { bus.Close() })
	// What a broker carries: the message's own metadata, read raw.
	sub, _ := bus.Subscriber("raw")
	msgs, err := sub.Subscribe(ctx, stamped{}.Topic())
	if err != nil {
		t.Fatal(err)
	}
	// What a handler is told.
	consumers := messaging.NewConsumers("stamped", db, messaging.RetryPolicy{}, apptest.Logger(t))
	producers := make(chan messaging.Producer, 1)
	messaging.Handle(consumers, func(ctx context.Context, _ *gorm.DB, _ stamped) error {
		p, _ := messaging.ProducerOf(ctx)
		producers <- p
		return nil
	})
	runCtx, cancel := context.WithCancel(ctx)
	group, _ := bus.Subscriber("stamped")
	if err := consumers.Start(runCtx, group); err != nil {
		t.Fatal(err)
	}
	relay := messaging.NewRelay(db, bus.Publisher(), "stamped", apptest.Logger(t))
	done := make(chan struct{})
	go func() { relay.Run(runCtx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; consumers.Close() })

	select {
	case msg := <-msgs:
		msg.Ack()
		for k, v := range want {
			if got := msg.Metadata.Get(k); got != v {
				t.Errorf("message's %s = %q, want %q", k, got, v)
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message on the bus")
	}
	select {
	case p := <-producers:
		if p != (messaging.Producer{Module: "stamped", Version: build.Version(), Instance: "instance-1"}) {
			t.Errorf("ProducerOf = %+v, want stamped, %s, instance-1", p, build.Version())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the event was not handled")
	}
	if _, ok := messaging.ProducerOf(ctx); ok {
		t.Error("ProducerOf outside a handler: ok, want false")
	}
}
