package database_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/database"
)

func maxOpen(t *testing.T, db *database.DB) int {
	t.Helper()
	pool, err := db.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	return pool.Stats().MaxOpenConnections
}

// A pool opens one connection until its callers wait for it, then its size.
func TestAPoolStartsWithOneConnectionAndWidensUnderLoad(t *testing.T) {
	ctx := context.Background()
	opened := time.Now()
	db := openSchema(t, "narrow", 8)
	if got := maxOpen(t, db); got != 1 {
		t.Fatalf("a new pool may open %d connections, want 1", got)
	}
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if err := db.Transact(ctx, func(tx *gorm.DB) error { return tx.Exec("SELECT pg_sleep(0.005)").Error }); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	// Well before the time a pool widens by anyway, so that only the
	// waiters can have widened it.
	deadline := opened.Add(database.NarrowFor / 2)
	for maxOpen(t, db) != 8 {
		if time.Now().After(deadline) {
			t.Fatalf("32 transactions at once: the pool may still open %d connections, want 8", maxOpen(t, db))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A transaction begun within another needs a second connection: a narrow
// pool gives it one when it widens, instead of leaving both stuck.
func TestANarrowPoolServesATransactionWithinAnother(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db := openSchema(t, "nested", 4)
	err := db.Transact(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT 1").Error; err != nil {
			return err
		}
		return db.Transact(ctx, func(inner *gorm.DB) error { return inner.Exec("SELECT 1").Error })
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A hold paces the transactions of requests, not the Ahead ones of the
// work they leave behind.
func TestAHoldPacesRequestsButNotAheadTransactions(t *testing.T) {
	ctx := context.Background()
	db := openSchema(t, "held", 2)
	var mu sync.Mutex
	holds := 0
	db.HoldWith(func(context.Context) { mu.Lock(); holds++; mu.Unlock() })
	run := func(ctx context.Context) {
		t.Helper()
		if err := db.Transact(ctx, func(tx *gorm.DB) error { return tx.Exec("SELECT 1").Error }); err != nil {
			t.Fatal(err)
		}
	}
	run(ctx)
	run(database.Ahead(ctx))
	run(ctx)
	if holds != 2 {
		t.Fatalf("the hold ran %d times for 2 requests and 1 Ahead transaction, want 2", holds)
	}
}
