package messaging_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/metrics"
)

// A module's consumers say, while they run, which topics they are subscribed
// to: the one way to learn, in a rolling upgrade, which instances still read
// the old version of a topic. Closed, they say it no more.
func TestConsumersSayWhatTheyAreSubscribedTo(t *testing.T) {
	const module = "subscriber"
	topic := pinged{}.Topic()
	db := platformSchema(t, apptest.FreshDatabase(t), module)
	c := messaging.NewConsumers(module, db, messaging.RetryPolicy{}, apptest.Logger(t))
	messaging.Handle(c, func(context.Context, *gorm.DB, pinged) error { return nil })
	bus := messaging.NewInProcess(slog.New(slog.DiscardHandler))
	sub, err := bus.Subscriber(module)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(t.Context(), sub); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(metrics.ConsumerSubscribed.WithLabelValues(module, topic)); got != 1 {
		t.Errorf("subscribed to %s: %v while running, want 1", topic, got)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if metrics.ConsumerSubscribed.DeleteLabelValues(module, topic) {
		t.Errorf("the closed consumers still say they are subscribed to %s", topic)
	}
}
