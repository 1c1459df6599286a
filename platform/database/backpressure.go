package database

import "context"

// HoldWith makes every transaction that Transact runs, but those that are
// Ahead, first call hold, which may wait (while ctx lasts) for the work
// such transactions leave behind to catch up. It is how a module's intake
// is paced to what its own background work keeps up with: the outbox relay
// holds the requests while it is a batch or more behind (see
// messaging.Relay), so that a burst is answered a little slower instead of
// leaving seconds of undelivered events behind it. A DB has one hold; a
// second call replaces the first.
func (d *DB) HoldWith(hold func(ctx context.Context)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hold = hold
}

// held runs the hold, if any, for a transaction that is not Ahead.
func (d *DB) held(ctx context.Context) {
	if ctx.Value(aheadKey{}) != nil {
		return
	}
	d.mu.Lock()
	hold := d.hold
	d.mu.Unlock()
	if hold != nil {
		hold(ctx)
	}
}
