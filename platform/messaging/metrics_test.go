package messaging_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/metrics"
)

// The relay counts what it publishes, the consumers what they are
// delivered, handle (with the lag since the event occurred), retry and give
// up on. The vectors are the process's, so the test reads what changed.
func TestTheRelayAndTheConsumersAreCounted(t *testing.T) {
	topic := pinged{}.Topic()
	counters := map[string]prometheus.Counter{
		"published":     metrics.RelayPublished.WithLabelValues("producer", topic),
		"delivered":     metrics.ConsumerDeliveries.WithLabelValues("consumer", topic),
		"handled":       metrics.ConsumerHandled.WithLabelValues("consumer", topic),
		"retried":       metrics.ConsumerRetries.WithLabelValues("consumer", topic),
		"dead_lettered": metrics.ConsumerDeadLettered.WithLabelValues("consumer", topic),
	}
	lag := metrics.ConsumerLag.WithLabelValues("consumer", topic).(prometheus.Metric)
	before := map[string]float64{}
	for k, c := range counters {
		before[k] = testutil.ToFloat64(c)
	}
	lagBefore := samples(t, lag)

	f := newFixture(t, messaging.RetryPolicy{MaxAttempts: 2, Backoff: 20 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	ctx := context.Background()
	f.publishAll(t, ctx, 1, 3)
	apptest.Eventually(t, 5*time.Second, "three events handled", func() bool { return f.seenCount(t) == 3 })
	f.fail.Store(1000) // the fourth fails, is retried once, and is dead
	f.publish(t, ctx, 4)
	apptest.Eventually(t, 5*time.Second, "the fourth event dead", func() bool {
		dl, err := f.deadLetters(ctx)
		return err == nil && len(dl) == 1 && dl[0].Status == "dead"
	})

	want := map[string]float64{"published": 4, "delivered": 4, "handled": 3, "retried": 1, "dead_lettered": 1}
	for k, c := range counters {
		if got := testutil.ToFloat64(c) - before[k]; got != want[k] {
			t.Errorf("%s: %v more, want %v", k, got, want[k])
		}
	}
	if n := samples(t, lag) - lagBefore; n != 3 {
		t.Errorf("%d lags observed, want 3 (one per handled event)", n)
	}
}

func samples(t *testing.T, m prometheus.Metric) uint64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetHistogram().GetSampleCount()
}
