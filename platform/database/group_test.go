package database_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/database"
)

// groupTable makes the table the group tests write to: one row per member,
// and one more the member defers to its commit.
func groupTable(t *testing.T, db *database.DB) {
	t.Helper()
	if err := db.Exec(`CREATE TABLE moves (id text PRIMARY KEY, xid bigint NOT NULL);
		CREATE TABLE sent (id text PRIMARY KEY)`).Error; err != nil {
		t.Fatal(err)
	}
}

// move is a member's transaction: a row, with the id of the transaction it
// is in, read back (a QueryRow, as a deposit's UPDATE … RETURNING), then a
// deferred row, as an event into the outbox.
func move(id string, xid *int64) func(tx *gorm.DB) error {
	return func(tx *gorm.DB) error {
		if err := database.QueryRow(tx, `INSERT INTO moves (id, xid) VALUES ($1, txid_current()) RETURNING xid`,
			[]any{id}, xid); err != nil {
			return err
		}
		return database.Defer(tx, "sent", `INSERT INTO sent (id) VALUES ($1)`, id)
	}
}

// parked fills both group slots of db with a transaction each that waits
// until the returned release, so that what is Grouped meanwhile queues, and
// runs as one group once released.
func parked(t *testing.T, db *database.DB) (release func()) {
	t.Helper()
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for i := range database.GroupsInFlight {
		started := make(chan struct{})
		wg.Go(func() {
			ctx := database.Grouped(context.Background(), fmt.Sprintf("parked-%d", i))
			if err := db.Transact(ctx, func(tx *gorm.DB) error {
				close(started)
				<-gate
				return tx.Exec(`SELECT 1`).Error
			}); err != nil {
				t.Error(err)
			}
		})
		<-started
	}
	return func() { close(gate); wg.Wait() }
}

// together runs n grouped transactions of db, the i-th fn(i) keyed by its
// id, as one group: they queue while parked holds the group slots.
func together(t *testing.T, db *database.DB, n int, fn func(i int, id string) func(tx *gorm.DB) error) []error {
	t.Helper()
	release := parked(t, db)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("m%02d", i)
			errs[i] = db.Transact(database.Grouped(context.Background(), id), fn(i, id))
		})
	}
	queued(t, db, n)
	release()
	wg.Wait()
	return errs
}

// queued waits until n grouped transactions of db wait for a group.
func queued(t *testing.T, db *database.DB, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for database.Queued(db) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions queued for a group, want %d", database.Queued(db), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// Grouped transactions that arrive together commit as one Postgres
// transaction, and each is answered with its own result once it has.
func TestGroupedTransactionsCommitTogether(t *testing.T) {
	db := openSchema(t, "grouped", 4)
	groupTable(t, db)
	const n = 20
	xids := make([]int64, n)
	errs := together(t, db, n, func(i int, id string) func(tx *gorm.DB) error { return move(id, &xids[i]) })
	for i, err := range errs {
		if err != nil {
			t.Fatalf("member %d: %v", i, err)
		}
	}
	for i := range xids {
		if xids[i] != xids[0] {
			t.Fatalf("members ran in transactions %v, want one for all %d", xids, n)
		}
	}
	var moves, sent int
	if err := db.Raw(`SELECT (SELECT count(*) FROM moves WHERE id LIKE 'm%'), (SELECT count(*) FROM sent)`).Row().Scan(&moves, &sent); err != nil {
		t.Fatal(err)
	}
	if moves != n || sent != n {
		t.Fatalf("%d moves and %d deferred rows committed, want %d of each", moves, sent, n)
	}
}

// A member that fails fails alone: the group rolls back and every other
// member runs again on its own and commits once; the one at fault commits
// nothing. So it goes whether the member returns an error, Postgres refuses
// one of its statements, or it makes a call a group cannot pipeline.
func TestAFailingMemberFailsAlone(t *testing.T) {
	refused := errors.New("refused")
	for _, tc := range []struct {
		name string
		bad  func(id string) func(tx *gorm.DB) error
		want func(err error) bool
	}{
		{"its fn fails", func(id string) func(tx *gorm.DB) error {
			return func(tx *gorm.DB) error {
				var xid int64
				if err := move(id, &xid)(tx); err != nil {
					return err
				}
				return refused
			}
		}, func(err error) bool { return errors.Is(err, refused) }},
		{"Postgres refuses a statement", func(id string) func(tx *gorm.DB) error {
			return func(tx *gorm.DB) error {
				return tx.Exec(`INSERT INTO moves (id, xid) VALUES (?, 1 / 0)`, id).Error
			}
		}, func(err error) bool { return err != nil && !errors.Is(err, refused) }},
		{"Postgres refuses a deferred statement", func(id string) func(tx *gorm.DB) error {
			return func(tx *gorm.DB) error {
				return database.Defer(tx, "", `INSERT INTO sent (id) VALUES ($1), ($1)`, id)
			}
		}, func(err error) bool { return err != nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openSchema(t, "failing", 4)
			groupTable(t, db)
			const n = 8
			xids := make([]int64, n)
			errs := together(t, db, n, func(i int, id string) func(tx *gorm.DB) error {
				if i == 3 {
					return tc.bad(id)
				}
				return move(id, &xids[i])
			})
			for i, err := range errs {
				if i == 3 {
					if !tc.want(err) {
						t.Errorf("the failing member: %v", err)
					}
				} else if err != nil {
					t.Errorf("member %d, failed by another: %v", i, err)
				}
			}
			var moves, sent int
			if err := db.Raw(`SELECT (SELECT count(*) FROM moves WHERE id LIKE 'm%'), (SELECT count(*) FROM sent)`).Row().Scan(&moves, &sent); err != nil {
				t.Fatal(err)
			}
			if moves != n-1 || sent != n-1 {
				t.Fatalf("%d moves and %d deferred rows committed, want %d of each: the others', once", moves, sent, n-1)
			}
		})
	}
}

// A call a group cannot pipeline (a query GORM reads rows of) makes its
// member run alone, where it works.
func TestAMemberThatQueriesRunsAlone(t *testing.T) {
	db := openSchema(t, "querying", 4)
	groupTable(t, db)
	const n = 6
	counts := make([]int64, n)
	errs := together(t, db, n, func(i int, id string) func(tx *gorm.DB) error {
		return func(tx *gorm.DB) error {
			var xid int64
			if err := move(id, &xid)(tx); err != nil {
				return err
			}
			return tx.Raw(`SELECT count(*) FROM moves WHERE id = ?`, id).Scan(&counts[i]).Error
		}
	})
	for i := range n {
		if errs[i] != nil || counts[i] != 1 {
			t.Errorf("member %d: %v, saw its row %d times, want once", i, errs[i], counts[i])
		}
	}
}

// Query reads every row, inside a transaction Transact runs (through pgx,
// grouped or not) and outside one.
func TestQueryReadsEveryRow(t *testing.T) {
	db := openSchema(t, "query", 4)
	groupTable(t, db)
	if err := db.Exec(`INSERT INTO moves (id, xid) VALUES ('a', 1), ('b', 2), ('c', 3)`).Error; err != nil {
		t.Fatal(err)
	}
	read := func(tx *gorm.DB) (ids string, err error) {
		err = database.Query(tx, `SELECT id FROM moves WHERE xid >= $1 ORDER BY id`, []any{2}, func(scan func(...any) error) error {
			var id string
			if err := scan(&id); err != nil {
				return err
			}
			ids += id
			return nil
		})
		return ids, err
	}
	for name, ctx := range map[string]context.Context{"alone": context.Background(), "grouped": database.Grouped(context.Background(), "q")} {
		var got string
		if err := db.Transact(ctx, func(tx *gorm.DB) (err error) {
			got, err = read(tx)
			return err
		}); err != nil || got != "bc" {
			t.Errorf("%s, in a transaction: %q, %v; want bc", name, got, err)
		}
	}
	if got, err := read(db.DB); err != nil || got != "bc" {
		t.Errorf("outside a transaction: %q, %v; want bc", got, err)
	}
}
