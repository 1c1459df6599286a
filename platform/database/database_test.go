package database_test

import (
	"context"
	"errors"
	"testing"

	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/database"
)

// After-commit hooks run for the tables a committed transaction touched, once
// per commit, and never for a rollback.
func TestAfterCommitHooksRunForTheTablesATransactionTouched(t *testing.T) {
	ctx := context.Background()
	db, err := database.Open(ctx, apptest.FreshDatabase(t), "hooks", database.PoolOptions{MaxOpen: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	runs := map[string]int{}
	db.AfterCommit("outbox", func() { runs["outbox"]++ })
	db.AfterCommit("notifications", func() { runs["notifications"]++ })

	check := func(what string, outbox, notifications int) {
		t.Helper()
		if runs["outbox"] != outbox || runs["notifications"] != notifications {
			t.Fatalf("%s: hooks ran %v, want outbox %d, notifications %d", what, runs, outbox, notifications)
		}
	}
	touch := func(tables ...string) func(tx *gorm.DB) error {
		return func(tx *gorm.DB) error {
			if err := tx.Exec("SELECT 1").Error; err != nil {
				return err
			}
			for _, table := range tables {
				database.Touch(tx, table)
			}
			return nil
		}
	}

	if err := db.Transact(ctx, touch()); err != nil {
		t.Fatal(err)
	}
	check("a transaction that touched nothing", 0, 0)
	if err := db.Transact(ctx, touch("outbox", "outbox")); err != nil {
		t.Fatal(err)
	}
	check("a transaction that touched the outbox twice", 1, 0)
	boom := errors.New("boom")
	err = db.Transact(ctx, func(tx *gorm.DB) error {
		database.Touch(tx, "notifications")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v, want boom", err)
	}
	check("a rolled back transaction", 1, 0)
	err = db.Transact(ctx, func(tx *gorm.DB) error {
		if err := db.Transact(tx.Statement.Context, touch("notifications")); err != nil {
			return err
		}
		check("a transaction begun within another, once it committed", 1, 1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check("the outer transaction, which touched nothing itself", 1, 1)
	database.Touch(db.DB, "outbox") // outside Transact: nothing to record it in
	check("a touch outside a transaction", 1, 1)
}
