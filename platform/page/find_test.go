package page_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/page"
)

// row is a row of the test's table: an owner's entry, with the two kinds of
// key the modules' lists use.
type row struct {
	ID        uuid.UUID
	Owner     string
	Seq       int64
	CreatedAt time.Time
}

var (
	byTime = page.NewKeyset("test.entries", page.Time("created_at"), page.UUID("id"))
	bySeq  = page.NewKeyset("test.entries_by_seq", page.Int("seq"))
)

func timeKey(r row) []any { return []any{r.CreatedAt, r.ID} }
func seqKey(r row) []any  { return []any{r.Seq} }

// entries is a table in a fresh database.
func entries(t *testing.T) *gorm.DB {
	t.Helper()
	db, err := database.Open(context.Background(), apptest.FreshDatabase(t), "paging", database.PoolOptions{MaxOpen: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Exec(`CREATE TABLE entries (
		id uuid PRIMARY KEY, owner text NOT NULL,
		seq bigint GENERATED ALWAYS AS IDENTITY, created_at timestamptz NOT NULL)`).Error; err != nil {
		t.Fatal(err)
	}
	return db.DB
}

// insert adds an entry of owner made at, and returns it as read back.
func insert(t *testing.T, db *gorm.DB, owner string, at time.Time) row {
	t.Helper()
	var r row
	if err := db.Raw(`INSERT INTO entries (id, owner, created_at) VALUES (?, ?, ?) RETURNING *`,
		uuid.New(), owner, at).Scan(&r).Error; err != nil {
		t.Fatal(err)
	}
	return r
}

func ownedBy(db *gorm.DB, owner string) *gorm.DB {
	return db.Table("entries").Select("id, owner, seq, created_at").Where("owner = ?", owner)
}

// Paging two at a time through a list that grows between pages shows every
// row that was there when it began exactly once, newest first, whether the
// new rows are newer than the position or (from a transaction that began
// earlier) older; rows of the same instant are told apart by their id, and
// another owner's rows never show.
func TestFindPagesThroughAGrowingList(t *testing.T) {
	t.Parallel()
	db := entries(t)
	base := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	var originals []row
	for i := range 9 {
		at := base.Add(time.Duration(i/3) * time.Second) // three rows to an instant
		originals = append(originals, insert(t, db, "ada", at))
		insert(t, db, "bob", at)
	}
	want := slices.Clone(originals)
	slices.SortFunc(want, func(a, b row) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return slices.Compare(b.ID[:], a.ID[:])
	})

	var seen []row
	req := page.Request{Limit: 2}
	for pages := 0; ; pages++ {
		p, err := page.Find(ownedBy(db, "ada"), byTime, req, timeKey)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Items) > 2 || (len(p.Items) < 2 && p.Next != "") {
			t.Fatalf("page %d: %d items, next %q", pages, len(p.Items), p.Next)
		}
		seen = append(seen, p.Items...)
		if p.Next == "" {
			break
		}
		insert(t, db, "ada", time.Now())                                 // newer than every page
		insert(t, db, "ada", base.Add(time.Duration(pages)*time.Second)) // among the pages to come
		req.Cursor = string(p.Next)
	}
	var got []row
	ids := map[uuid.UUID]int{}
	for _, r := range seen {
		ids[r.ID]++
		if ids[r.ID] > 1 {
			t.Errorf("row %s shown twice", r.ID)
		}
		if r.Owner != "ada" {
			t.Errorf("row %s of %s shown to ada", r.ID, r.Owner)
		}
		if slices.ContainsFunc(originals, func(o row) bool { return o.ID == r.ID }) {
			got = append(got, r)
		}
	}
	if !slices.EqualFunc(got, want, func(a, b row) bool { return a.ID == b.ID && a.CreatedAt.Equal(b.CreatedAt) }) {
		t.Errorf("the original rows came as\n%v\nwant newest first\n%v", got, want)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i].CreatedAt.After(seen[i-1].CreatedAt) {
			t.Errorf("row %d (%s) is newer than the row before it", i, seen[i].CreatedAt)
		}
	}
}

// A list ordered by a ledger position pages the same way; the zero Request
// is a first page of DefaultLimit, and a limit over MaxLimit is MaxLimit.
func TestFindBySequenceAndDefaults(t *testing.T) {
	t.Parallel()
	db := entries(t)
	for range page.DefaultLimit + 1 {
		insert(t, db, "ada", time.Now())
	}
	p, err := page.Find(ownedBy(db, "ada"), bySeq, page.Request{}, seqKey)
	if err != nil || len(p.Items) != page.DefaultLimit || p.Next == "" {
		t.Fatalf("first page: %d items, next %q, %v; want %d and a next page", len(p.Items), p.Next, err, page.DefaultLimit)
	}
	for i := 1; i < len(p.Items); i++ {
		if p.Items[i].Seq >= p.Items[i-1].Seq {
			t.Fatalf("seq %d after %d: not newest first", p.Items[i].Seq, p.Items[i-1].Seq)
		}
	}
	last, err := page.Find(ownedBy(db, "ada"), bySeq, page.Request{Cursor: string(p.Next)}, seqKey)
	if err != nil || len(last.Items) != 1 || last.Next != "" || last.Items[0].Seq != p.Items[len(p.Items)-1].Seq-1 {
		t.Fatalf("last page: %+v, %v; want the oldest row alone", last, err)
	}
	all, err := page.Find(ownedBy(db, "ada"), bySeq, page.Request{Limit: 10 * page.MaxLimit}, seqKey)
	if err != nil || len(all.Items) != page.DefaultLimit+1 || all.Next != "" {
		t.Fatalf("a limit over the maximum: %d items, %v", len(all.Items), err)
	}
	none, err := page.Find(ownedBy(db, "nobody"), bySeq, page.Request{}, seqKey)
	if err != nil || none.Items == nil || len(none.Items) != 0 || none.Next != "" {
		t.Fatalf("an empty list: %+v, %v; want no items, not nil, and no next page", none, err)
	}
}

// A cursor of another list is refused before the query runs; a database
// that fails is an error that names the list, not a problem for the client.
func TestFindRefusesAForeignCursor(t *testing.T) {
	t.Parallel()
	db := entries(t)
	insert(t, db, "ada", time.Now())
	insert(t, db, "ada", time.Now())
	p, err := page.Find(ownedBy(db, "ada"), bySeq, page.Request{Limit: 1}, seqKey)
	if err != nil || p.Next == "" {
		t.Fatalf("%+v, %v", p, err)
	}
	_, err = page.Find(ownedBy(db, "ada"), byTime, page.Request{Cursor: string(p.Next)}, timeKey)
	if !errors.Is(err, page.ErrInvalidCursor) {
		t.Errorf("a cursor of another list: %v, want ErrInvalidCursor", err)
	}
	_, err = page.Find(db.Table("no_such_table"), bySeq, page.Request{}, seqKey)
	if err == nil || errors.Is(err, page.ErrInvalidCursor) || !strings.Contains(err.Error(), "page: read test.entries_by_seq: ") {
		t.Errorf("a failing query: %v", err)
	}
}
