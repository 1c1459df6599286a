package database_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/database"
)

// After-commit hooks run for the tables a committed transaction touched, once
// per commit, and never for a rollback.
func TestAfterCommitHooksRunForTheTablesATransactionTouched(t *testing.T) {
	ctx := context.Background()
	db := openSchema(t, "hooks", 2)
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
	err := db.Transact(ctx, func(tx *gorm.DB) error {
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

// Deferred statements run when the transaction commits, after its own
// statements and in the order they were deferred; the first that fails
// rolls the whole transaction back and is its error. Outside Transact they
// run at once.
func TestDeferredStatementsRunWithTheCommit(t *testing.T) {
	ctx := context.Background()
	db := openSchema(t, "deferred", 2)
	if err := db.Exec(`CREATE TABLE log (n int PRIMARY KEY, what text NOT NULL)`).Error; err != nil {
		t.Fatal(err)
	}
	woken := 0
	db.AfterCommit("log", func() { woken++ })
	rows := func() (out []string) {
		t.Helper()
		if err := db.Raw(`SELECT what FROM log ORDER BY n`).Scan(&out).Error; err != nil {
			t.Fatal(err)
		}
		return out
	}
	insert := `INSERT INTO log (n, what) VALUES ($1, $2)`

	err := db.Transact(ctx, func(tx *gorm.DB) error {
		if err := database.Defer(tx, "log", insert, 2, "deferred first"); err != nil {
			return err
		}
		if err := database.Defer(tx, "log", `UPDATE log SET what = what || ', then updated' WHERE n = $1`, 2); err != nil {
			return err
		}
		var n int64
		if err := tx.Raw(`SELECT count(*) FROM log`).Scan(&n).Error; err != nil || n != 0 {
			t.Errorf("before the commit the table holds %d rows (%v), want none", n, err)
		}
		return tx.Exec(`INSERT INTO log (n, what) VALUES (1, 'direct')`).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := rows(); len(got) != 2 || got[0] != "direct" || got[1] != "deferred first, then updated" {
		t.Fatalf("after the commit: %q", got)
	}
	if woken != 1 {
		t.Fatalf("the table's hook ran %d times, want once", woken)
	}

	err = db.Transact(ctx, func(tx *gorm.DB) error {
		if err := tx.Exec(`INSERT INTO log (n, what) VALUES (3, 'direct')`).Error; err != nil {
			return err
		}
		_ = database.Defer(tx, "log", insert, 4, "fine")
		return database.Defer(tx, "log", insert, 1, "a duplicate key")
	})
	if !database.IsUniqueViolation(err) {
		t.Fatalf("a failing deferred statement: err %v, want the unique violation", err)
	}
	if got := rows(); len(got) != 2 {
		t.Fatalf("a failed commit left %q", got)
	}
	if woken != 1 {
		t.Fatalf("the hook ran after a rollback")
	}

	// A nested GORM transaction is a savepoint of Transact's.
	err = db.Transact(ctx, func(tx *gorm.DB) error {
		_ = tx.Transaction(func(inner *gorm.DB) error {
			return errors.Join(inner.Exec(`INSERT INTO log (n, what) VALUES (5, 'rolled back to the savepoint')`).Error, errors.New("undo"))
		})
		return database.Defer(tx, "log", insert, 6, "after the savepoint")
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := rows(); len(got) != 3 || got[2] != "after the savepoint" {
		t.Fatalf("after a savepoint rolled back: %q", got)
	}

	if err := database.Defer(db.DB.WithContext(ctx), "log", insert, 7, "outside"); err != nil {
		t.Fatal(err)
	}
	if got := rows(); len(got) != 4 {
		t.Fatalf("a statement deferred outside a transaction did not run: %q", got)
	}
	var open int64
	if err := db.Raw(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`).Scan(&open).Error; err != nil || open != 0 {
		t.Fatalf("%d connections left idle in a transaction (%v)", open, err)
	}
}

// BEGIN goes with a transaction's first statement: whichever way that is
// sent (an Exec, QueryRow, a query GORM reads rows of), every statement of
// fn is in the one transaction, and a failure rolls back all of them.
func TestTheFirstStatementBegins(t *testing.T) {
	ctx := context.Background()
	db := openSchema(t, "lazybegin", 2)
	if err := db.Exec(`CREATE TABLE n (v int PRIMARY KEY)`).Error; err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	xid := func(tx *gorm.DB) (x int64) {
		t.Helper()
		if err := database.QueryRow(tx, `SELECT txid_current()`, nil, &x); err != nil {
			t.Fatal(err)
		}
		return x
	}
	firsts := map[string]func(tx *gorm.DB) error{
		"an Exec": func(tx *gorm.DB) error { return tx.Exec(`INSERT INTO n VALUES (1)`).Error },
		"QueryRow": func(tx *gorm.DB) error {
			var v int
			return database.QueryRow(tx, `INSERT INTO n VALUES ($1) RETURNING v`, []any{1}, &v)
		},
		"rows GORM reads": func(tx *gorm.DB) error {
			var vs []int
			return tx.Raw(`INSERT INTO n VALUES (1) RETURNING v`).Scan(&vs).Error
		},
	}
	for name, first := range firsts {
		err := db.Transact(ctx, func(tx *gorm.DB) error {
			if err := first(tx); err != nil {
				return err
			}
			if a, b := xid(tx), xid(tx); a != b {
				t.Errorf("%s first: the statements ran in transactions %d and %d", name, a, b)
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("%s first: %v", name, err)
		}
		var left int64
		if err := db.Raw(`SELECT count(*) FROM n`).Scan(&left).Error; err != nil || left != 0 {
			t.Fatalf("%s first: the rollback left %d rows (%v)", name, left, err)
		}
	}
	// A failing first statement fails the transaction, which leaves nothing open.
	err := db.Transact(ctx, func(tx *gorm.DB) error { return tx.Exec(`INSERT INTO nowhere VALUES (1)`).Error })
	if err == nil {
		t.Fatal("an insert into a missing table succeeded")
	}
	if err := db.Transact(ctx, func(tx *gorm.DB) error { return tx.Exec(`INSERT INTO n VALUES (7)`).Error }); err != nil {
		t.Fatalf("the next transaction: %v", err)
	}
	var v int
	if err := database.QueryRow(db.DB.WithContext(ctx), `SELECT v FROM n WHERE v = $1`, []any{7}, &v); err != nil || v != 7 {
		t.Fatalf("QueryRow outside a transaction: %d, %v", v, err)
	}
}

// Transactions waiting for a connection get one in the order they asked,
// not at random as database/sql hands them out.
func TestTransactionsWaitInTurn(t *testing.T) {
	ctx := context.Background()
	db := openSchema(t, "turns", 1)
	release := make(chan struct{})
	held := make(chan struct{})
	go db.Transact(ctx, func(tx *gorm.DB) error {
		close(held)
		<-release
		return tx.Exec("SELECT 1").Error
	})
	<-held
	const waiters = 6
	order := make(chan int, waiters)
	var wg sync.WaitGroup
	for i := range waiters {
		wg.Go(func() {
			if err := db.Transact(ctx, func(tx *gorm.DB) error {
				order <- i
				return tx.Exec("SELECT 1").Error
			}); err != nil {
				t.Error(err)
			}
		})
		time.Sleep(50 * time.Millisecond) // until it waits its turn
	}
	close(release)
	wg.Wait()
	close(order)
	want := 0
	for got := range order {
		if got != want {
			t.Fatalf("waiter %d got its turn when waiter %d should have", got, want)
		}
		want++
	}
}

// openSchema opens schema in a fresh database, with a pool of maxOpen
// connections, closed when the test ends.
func openSchema(t *testing.T, schema string, maxOpen int) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), apptest.FreshDatabase(t), schema, database.PoolOptions{MaxOpen: maxOpen})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
