package messaging_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/messaging"
)

// prefetching registers the fixture's handler with HandleBatchedWith, with
// a prefetch that records the events of each call; the handler refuses an
// event its prefetch did not see.
type prefetching struct {
	mu    sync.Mutex
	calls [][]int // the events' N, per prefetch
}

func (p *prefetching) register(c *messaging.Consumers, fn messaging.HandlerFunc[pinged]) {
	messaging.HandleBatchedWith(c, func(ctx context.Context, tx *gorm.DB, events []pinged) (map[int]bool, error) {
		var ns []int
		seen := map[int]bool{}
		for _, e := range events {
			ns = append(ns, e.N)
			seen[e.N] = true
		}
		p.mu.Lock()
		p.calls = append(p.calls, ns)
		p.mu.Unlock()
		return seen, tx.Exec("SELECT 1").Error
	}, func(ctx context.Context, tx *gorm.DB, e pinged, seen map[int]bool) error {
		if !seen[e.N] {
			return fmt.Errorf("event %d was not prefetched", e.N)
		}
		return fn(ctx, tx, e)
	})
}

// A prefetch reads once for a batch, and the handler gets what it read with
// every event; a failing event is prefetched again on its own.
func TestAPrefetchReadsOnceForABatch(t *testing.T) {
	var p prefetching
	f := newFixtureWith(t, messaging.RetryPolicy{}, p.register)
	f.poison.Store(7)
	ctx := context.Background()
	f.publishAll(t, ctx, 1, 40)
	f.awaitPoisonDead(t)
	apptest.Eventually(t, 10*time.Second, "every other event handled", func() bool { return f.seenCount(t) >= 39 })
	seen, _ := f.handled(t)
	if got := slices.Sorted(slices.Values(seen)); len(got) != 39 || slices.Contains(got, 7) {
		t.Fatalf("effects of %v, want every event but 7, once each", got)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	largest, alone7 := 0, false
	for _, ns := range p.calls {
		largest = max(largest, len(ns))
		alone7 = alone7 || slices.Equal(ns, []int{7})
	}
	if largest < 2 {
		t.Errorf("prefetches of %v: none for a batch of several events", p.calls)
	}
	if !alone7 {
		t.Errorf("prefetches of %v: none for the failing event 7 on its own", p.calls)
	}
}
