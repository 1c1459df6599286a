package messaging

import (
	"context"
	"fmt"

	"gorm.io/gorm"
)

// Prefetch reads in tx, once for a batch of events, what their handler would
// otherwise read once for each: the rows the events name, say. What it
// returns is given to the handler with every event of the batch.
type Prefetch[E Event, P any] func(ctx context.Context, tx *gorm.DB, events []E) (P, error)

// HandleBatchedWith registers fn like HandleBatched, and calls prefetch
// before it: once for a batch, with its new events, in the batch's
// transaction, so that a handler that reads a row per event reads them all
// in one round trip; and with its one event when an event is applied on its
// own (a lone delivery, a retry, a replay, or each event of a batch that
// failed). What fn writes for an event can make what prefetch read for a
// later event of the same batch out of date: fn reads again whatever an
// earlier event of the batch may have changed.
func HandleBatchedWith[E Event, P any](c *Consumers, prefetch Prefetch[E, P], fn func(ctx context.Context, tx *gorm.DB, e E, p P) error) {
	var zero E
	add(c, &handler{
		name:    handlerKey(c.module, zero),
		topic:   zero.Topic(),
		batched: true,
		apply: func(ctx context.Context, tx *gorm.DB, payload []byte) error {
			return callSafely(func() error {
				e, err := decode[E](payload)
				if err != nil {
					return err
				}
				p, err := prefetch(ctx, tx, []E{e})
				if err != nil {
					return fmt.Errorf("prefetch: %w", err)
				}
				return fn(ctx, tx, e, p)
			})
		},
		applyAll: func(tx *gorm.DB, ds []*delivery) error {
			if len(ds) == 0 {
				return nil
			}
			events := make([]E, len(ds))
			var p P
			err := callSafely(func() error {
				for i, d := range ds {
					e, err := decode[E](d.payload)
					if err != nil {
						return fmt.Errorf("message %s: %w", d.id, err)
					}
					events[i] = e
				}
				var err error
				if p, err = prefetch(ds[0].ctx, tx, events); err != nil {
					return fmt.Errorf("prefetch: %w", err)
				}
				return nil
			})
			if err != nil {
				return err
			}
			for i, d := range ds {
				if err := callSafely(func() error { return fn(d.ctx, tx, events[i], p) }); err != nil {
					return fmt.Errorf("message %s: %w", d.id, err)
				}
			}
			return nil
		},
	})
}
