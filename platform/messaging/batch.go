package messaging

import (
	"context"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/database"
)

// Deliveries of a handler registered with HandleBatched that arrive together
// are applied together: one
// transaction, one inbox insert, one commit for all of them, instead of a
// transaction each. A busy consumer spends most of a delivery's cost on the
// transaction around it (begin, inbox row, commit: three round trips and a
// WAL flush against one for a typical handler's own query), so this is what
// lets it keep up with a producer that commits a deposit per round trip less.
//
// Nothing waits to fill a batch: a batch is whatever arrived while the last
// one was being applied, so a lone event is applied at once, alone. If the
// batch's transaction fails for any reason (a handler's error, a deadlock
// with another batch), each of its deliveries is applied again on its own,
// the way it would have been unbatched, so a failure is recorded against the
// one message that causes it.
//
// Batches of one handler run on batchWorkers goroutines, so that a slow batch
// (a handler waiting on a lock or on another module) holds up its own
// deliveries, not the handler's others.
const (
	maxBatch     = 64
	batchWorkers = 4
)

// delivery is one message waiting for its handler.
type delivery struct {
	ctx     context.Context
	id      string
	payload []byte
	done    chan error // the outcome, as Consumers.apply would give it
}

// batcher applies a handler's deliveries in batches.
type batcher struct {
	c       *Consumers
	h       *handler
	in      chan *delivery
	quit    chan struct{}
	stopped sync.Once
	workers sync.WaitGroup
}

func newBatcher(c *Consumers, h *handler) *batcher {
	b := &batcher{c: c, h: h, in: make(chan *delivery), quit: make(chan struct{})}
	for range batchWorkers {
		b.workers.Go(b.run)
	}
	return b
}

// apply hands a delivery to the batcher and waits for its outcome.
func (b *batcher) apply(ctx context.Context, id string, payload []byte) error {
	d := &delivery{ctx: ctx, id: id, payload: payload, done: make(chan error, 1)}
	select {
	case b.in <- d:
	case <-b.quit:
		return fmt.Errorf("messaging: %s is stopping", b.h.name)
	}
	return <-d.done
}

// stop ends the batcher once nothing is delivered to it any more. Stopping it
// again does nothing.
func (b *batcher) stop() {
	b.stopped.Do(func() { close(b.quit) })
	b.workers.Wait()
}

func (b *batcher) run() {
	for {
		var first *delivery
		select {
		case first = <-b.in:
		case <-b.quit:
			return
		}
		batch := []*delivery{first}
	gather:
		for len(batch) < maxBatch {
			select {
			case d := <-b.in:
				batch = append(batch, d)
			default:
				break gather
			}
		}
		b.applyBatchSafely(batch)
	}
}

// applyBatchSafely applies batch on a worker that must outlive it. The
// module's code cannot panic here (handler.apply recovers its panics), but
// should this package's own code panic on the way, every delivery still
// waiting is answered with the panic: each message is then recorded for
// retry like any failure, and the worker goes on to the next batch instead
// of taking the process down with it.
func (b *batcher) applyBatchSafely(batch []*delivery) {
	err := callSafely(func() error {
		b.applyBatch(batch)
		return nil
	})
	if err == nil {
		return
	}
	b.c.log.ErrorContext(batch[0].ctx, "batch worker panicked", "handler", b.h.name, "size", len(batch), "error", err)
	err = fmt.Errorf("messaging: batch of %s: %w", b.h.name, err)
	for _, d := range batch {
		select {
		case d.done <- err:
		default: // answered before the panic
		}
	}
}

func (b *batcher) applyBatch(batch []*delivery) {
	c, h := b.c, b.h
	if len(batch) == 1 {
		d := batch[0]
		d.done <- c.apply(d.ctx, h, d.id, d.payload)
		return
	}
	start := time.Now()
	skipped := map[*delivery]bool{}
	err := c.db.Transact(database.Ahead(batch[0].ctx), func(tx *gorm.DB) error {
		ids := make(database.Texts, len(batch))
		for i, d := range batch {
			ids[i] = d.id
		}
		// One row, the ids that are new, so that database.QueryRow can send
		// the transaction's BEGIN with it.
		var fresh []string
		if err := database.QueryRow(tx, `WITH fresh AS (
				INSERT INTO inbox (message_id, handler) SELECT unnest($1::text[]), $2
				ON CONFLICT DO NOTHING RETURNING message_id)
			SELECT coalesce(array_agg(message_id), '{}') FROM fresh`, []any{ids, h.name}, &fresh); err != nil {
			return fmt.Errorf("record in inbox: %w", err)
		}
		unhandled := make(map[string]bool, len(fresh))
		for _, id := range fresh {
			unhandled[id] = true
		}
		todo := make([]*delivery, 0, len(fresh))
		for _, d := range batch {
			if !unhandled[d.id] {
				skipped[d] = true // handled before, or earlier in this batch
				continue
			}
			delete(unhandled, d.id)
			todo = append(todo, d)
		}
		if h.applyAll != nil {
			return h.applyAll(tx, todo)
		}
		for _, d := range todo {
			if err := h.apply(d.ctx, tx, d.payload); err != nil {
				return fmt.Errorf("message %s: %w", d.id, err)
			}
		}
		return nil
	})
	if err != nil {
		c.log.DebugContext(batch[0].ctx, "batch of events failed; applying each on its own",
			"handler", h.name, "size", len(batch), "error", err)
		for _, d := range batch {
			d.done <- c.apply(d.ctx, h, d.id, d.payload)
		}
		return
	}
	took := time.Since(start)
	for _, d := range batch {
		msg := "event handled"
		if skipped[d] {
			msg = "event already handled; skipped"
		}
		c.log.InfoContext(d.ctx, msg, "handler", h.name, "message_id", d.id, "took", took, "batch", len(batch))
		d.done <- nil
	}
}
