package database

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// A pool starts narrow: one connection, until its callers show they need
// more. A module's start-up wakes its outbox relay, mail dispatcher,
// dead-letter retries, background work and first /readyz at once; each
// would open a connection of its own, and a connection costs its server
// process's start (15–20 ms on the benchmark machine, and no faster for
// opening several at once), which their short first queries, taken in turn
// on one connection, do not. Load widens the pool within a few requests.
const (
	// narrowWaits is how many callers may have waited for the one
	// connection before the pool may open the rest.
	narrowWaits = 16
	// narrowFor bounds how long a pool stays narrow, whatever its load: it
	// covers a module's start-up, from its pool's opening to its workers'
	// first passes, and no more, since a caller that holds the connection
	// while it waits for a second one (a transaction begun within another)
	// waits until the pool widens.
	narrowFor = 300 * time.Millisecond
	// narrowTick is how often a narrow pool looks at its waiters.
	narrowTick = 5 * time.Millisecond
)

// startNarrow holds db to one connection, then widens it to opts' size once
// narrowWaits callers have waited or narrowFor has passed. stop ends the
// narrow start without widening, for a pool being closed.
func startNarrow(db *sql.DB, opts PoolOptions) (stop func()) {
	db.SetMaxOpenConns(1)
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(narrowTick)
		defer tick.Stop()
		deadline := time.After(narrowFor)
		for {
			select {
			case <-done:
				return
			case <-deadline:
			case <-tick.C:
				if db.Stats().WaitCount < narrowWaits {
					continue
				}
			}
			widen(db, opts)
			return
		}
	}()
	var once sync.Once
	return func() { once.Do(func() { close(done) }) }
}

// widen lets db open opts.MaxOpen connections, and opens one more: callers
// already waiting are served only by a connection coming back, and the one
// there is may be held by a caller that waits for them.
func widen(db *sql.DB, opts PoolOptions) {
	db.SetMaxOpenConns(opts.MaxOpen)
	db.SetMaxIdleConns(opts.MaxIdle) // SetMaxOpenConns(1) lowered it
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if conn, err := db.Conn(ctx); err == nil {
		_ = conn.Close() // to the pool, and to one of its waiters, if any
	}
}
