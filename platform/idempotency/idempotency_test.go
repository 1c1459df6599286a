package idempotency_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/idempotency"
	"github.com/uberservice/uberservice/platform/problem"
)

// receipt is what the effect under test returns: a value with a time, a list
// and a pointer, which must all come back from a replay as they went in.
type receipt struct {
	ID    int64     `json:"id"`
	At    time.Time `json:"at"`
	Lines []string  `json:"lines"`
	Note  *string   `json:"note"`
}

type deposit struct {
	Amount int64 `json:"amount"`
}

// ledger is a schema with the platform's tables and an entries table that the
// effect writes to, so that a test can count the effects that committed.
type ledger struct {
	db    *database.DB
	calls int // effects run, committed or not
	mu    sync.Mutex
}

func newLedger(t *testing.T) *ledger {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, apptest.FreshDatabase(t), "ledger", database.PoolOptions{MaxOpen: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := database.Migrate(ctx, db, database.PlatformMigrations(), database.PlatformTable); err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`CREATE TABLE entries (id bigserial PRIMARY KEY, amount bigint NOT NULL)`).Error; err != nil {
		t.Fatal(err)
	}
	return &ledger{db: db}
}

// deposit writes an entry and answers its receipt; fail makes it fail after
// the write, which must then be rolled back.
func (l *ledger) deposit(amount int64, fail error) func(tx *gorm.DB) (receipt, error) {
	return func(tx *gorm.DB) (receipt, error) {
		l.mu.Lock()
		l.calls++
		l.mu.Unlock()
		var r receipt
		if err := tx.Raw(`INSERT INTO entries (amount) VALUES (?) RETURNING id, now() AS at`, amount).Row().
			Scan(&r.ID, &r.At); err != nil {
			return receipt{}, err
		}
		note := "first"
		r.At, r.Lines, r.Note = r.At.UTC(), []string{"a", "b"}, &note
		return r, fail
	}
}

func (l *ledger) do(t *testing.T, scope, key string, amount int64, fail error) (receipt, bool, error) {
	t.Helper()
	return idempotency.Do(context.Background(), l.db, scope, key, deposit{amount}, l.deposit(amount, fail))
}

func (l *ledger) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := l.db.Raw(query, args...).Row().Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (l *ledger) entries(t *testing.T) int { return l.count(t, `SELECT count(*) FROM entries`) }

func TestDo(t *testing.T) {
	l := newLedger(t)

	t.Run("a retry with the same key and request gets the stored value and no second effect", func(t *testing.T) {
		first, replayed, err := l.do(t, "deposit:a", "key-1", 100, nil)
		if err != nil || replayed {
			t.Fatalf("first call: replayed %v, err %v", replayed, err)
		}
		calls, entries := l.calls, l.entries(t)
		again, replayed, err := l.do(t, "deposit:a", "key-1", 100, nil)
		if err != nil || !replayed {
			t.Fatalf("retry: replayed %v, err %v", replayed, err)
		}
		if !reflect.DeepEqual(again, first) {
			t.Errorf("the retry got %+v, the first call %+v", again, first)
		}
		if l.calls != calls || l.entries(t) != entries {
			t.Errorf("the retry ran the effect again: %d calls, %d entries, want %d and %d", l.calls, l.entries(t), calls, entries)
		}
	})

	t.Run("the same key with another request is a mismatch, with no effect", func(t *testing.T) {
		if _, _, err := l.do(t, "deposit:b", "key-1", 100, nil); err != nil {
			t.Fatal(err)
		}
		calls := l.calls
		_, replayed, err := l.do(t, "deposit:b", "key-1", 101, nil)
		if !errors.Is(err, problem.ErrIdempotencyMismatch) || replayed {
			t.Fatalf("replayed %v, err %v, want the mismatch", replayed, err)
		}
		if l.calls != calls {
			t.Error("a mismatched request ran the effect")
		}
	})

	t.Run("a key belongs to its scope", func(t *testing.T) {
		a, _, err := l.do(t, "deposit:c", "shared", 5, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, replayed, err := l.do(t, "withdrawal:c", "shared", 5, nil)
		if err != nil || replayed || b.ID == a.ID {
			t.Fatalf("another scope: %+v replayed %v, err %v; want a new effect", b, replayed, err)
		}
	})

	t.Run("an empty key runs the effect every time and stores nothing", func(t *testing.T) {
		keys, entries := l.count(t, `SELECT count(*) FROM idempotency_keys`), l.entries(t)
		for range 2 {
			if _, replayed, err := l.do(t, "deposit:d", "", 7, nil); err != nil || replayed {
				t.Fatalf("replayed %v, err %v", replayed, err)
			}
		}
		if got := l.entries(t); got != entries+2 {
			t.Errorf("%d entries, want %d", got, entries+2)
		}
		if got := l.count(t, `SELECT count(*) FROM idempotency_keys`); got != keys {
			t.Errorf("%d keys stored, want %d", got, keys)
		}
	})

	t.Run("a failed effect commits nothing and leaves the key free", func(t *testing.T) {
		boom := errors.New("boom")
		entries := l.entries(t)
		v, replayed, err := l.do(t, "deposit:e", "key-2", 9, boom)
		if !errors.Is(err, boom) || replayed || !reflect.DeepEqual(v, receipt{}) {
			t.Fatalf("got %+v, replayed %v, err %v; want the zero value and boom", v, replayed, err)
		}
		if got := l.entries(t); got != entries {
			t.Fatalf("the failed effect left %d entries, want %d", got, entries)
		}
		if n := l.count(t, `SELECT count(*) FROM idempotency_keys WHERE scope = 'deposit:e'`); n != 0 {
			t.Fatalf("the failed effect left its key stored")
		}
		// Free for any request, not only the one that failed.
		if _, replayed, err := l.do(t, "deposit:e", "key-2", 10, nil); err != nil || replayed {
			t.Fatalf("the retry: replayed %v, err %v", replayed, err)
		}
	})

	t.Run("an invalid key is refused before any effect", func(t *testing.T) {
		calls, keys := l.calls, l.count(t, `SELECT count(*) FROM idempotency_keys`)
		for _, key := range []string{strings.Repeat("k", idempotency.MaxKeyLength+1), "caf\xe9", "a\x00b", "a b"} {
			if _, _, err := l.do(t, "deposit:f", key, 1, nil); !errors.Is(err, idempotency.ErrKeyInvalid) {
				t.Fatalf("key %q: err %v, want ErrKeyInvalid", key, err)
			}
		}
		if l.calls != calls {
			t.Error("the effect ran")
		}
		if got := l.count(t, `SELECT count(*) FROM idempotency_keys`); got != keys {
			t.Errorf("%d keys stored, want %d", got, keys)
		}
		if _, _, err := l.do(t, "deposit:f", strings.Repeat("k", idempotency.MaxKeyLength), 1, nil); err != nil {
			t.Fatalf("a key of MaxKeyLength: %v", err)
		}
	})

	t.Run("concurrent requests with one key have one effect", func(t *testing.T) {
		entries := l.entries(t)
		const n = 4
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			replays  int
			receipts = map[int64]bool{}
		)
		for range n {
			wg.Go(func() {
				r, replayed, err := l.do(t, "deposit:g", "race", 3, nil)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				receipts[r.ID] = true
				if replayed {
					replays++
				}
			})
		}
		wg.Wait()
		if got := l.entries(t); got != entries+1 {
			t.Errorf("%d effects committed, want 1", got-entries)
		}
		if replays != n-1 || len(receipts) != 1 {
			t.Errorf("%d replays of %d requests answering %d receipts, want %d replays of one", replays, n, len(receipts), n-1)
		}
	})
}

func TestRequestHashTellsRequestsApart(t *testing.T) {
	a, err := idempotency.RequestHash(deposit{100})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := idempotency.RequestHash(deposit{100})
	other, _ := idempotency.RequestHash(deposit{101})
	if a != again || a == other || len(a) != 64 {
		t.Errorf("hashes %s, %s, %s: want the same for the same request, another for another, in hex", a, again, other)
	}
	if _, err := idempotency.RequestHash(func() {}); err == nil {
		t.Error("a request that has no JSON was hashed")
	}
}

// request builds a request carrying the Idempotency-Key header once per value.
func request(values ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/v1/deposits", nil)
	for _, v := range values {
		r.Header.Add(idempotency.Header, v)
	}
	return r
}

func TestKeyFrom(t *testing.T) {
	for _, c := range []struct {
		name   string
		values []string
		want   string
		detail string // "" when the key is accepted
	}{
		{"absent: no key", nil, "", ""},
		{"a UUID", []string{"0190a6f4-6d0e-7b8a-9c1d-2e3f4a5b6c7d"}, "0190a6f4-6d0e-7b8a-9c1d-2e3f4a5b6c7d", ""},
		{"every visible ASCII character", []string{"!~azAZ09\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}"}, "!~azAZ09\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}", ""},
		{"the same value twice", []string{"k-1", "k-1"}, "k-1", ""},
		{"MaxKeyLength characters", []string{strings.Repeat("k", idempotency.MaxKeyLength)}, strings.Repeat("k", idempotency.MaxKeyLength), ""},
		{"empty", []string{""}, "", "must not be empty"},
		{"a Latin-1 byte", []string{"caf\xe9"}, "", "byte 0xE9 at offset 3"},
		{"UTF-8 beyond ASCII", []string{"café"}, "", "byte 0xC3 at offset 3"},
		{"a space inside", []string{"order 42"}, "", "byte 0x20 at offset 5"},
		{"a tab inside", []string{"a\tb"}, "", "byte 0x09 at offset 1"},
		{"DEL", []string{"a\x7f"}, "", "byte 0x7F at offset 1"},
		{"NUL", []string{"\x00"}, "", "byte 0x00 at offset 0"},
		{"over MaxKeyLength", []string{strings.Repeat("k", idempotency.MaxKeyLength+1)}, "", "at most 255 characters"},
		{"two different values", []string{"k-1", "k-2"}, "", "given 2 times with different values"},
		{"an empty value beside a key", []string{"k-1", ""}, "", "given 2 times with different values"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := idempotency.KeyFrom(request(c.values...))
			if c.detail == "" {
				if err != nil || got != c.want {
					t.Fatalf("got %q, %v; want %q", got, err, c.want)
				}
				return
			}
			var p *problem.Problem
			if !errors.As(err, &p) || !errors.Is(err, idempotency.ErrKeyInvalid) || got != "" {
				t.Fatalf("got %q, %v; want ErrKeyInvalid", got, err)
			}
			if p.Status != http.StatusBadRequest || !strings.Contains(p.Detail, c.detail) {
				t.Errorf("status %d, detail %q; want 400 and a detail saying %q", p.Status, p.Detail, c.detail)
			}
		})
	}
}

func TestCheckKey(t *testing.T) {
	for key, ok := range map[string]bool{
		"":                                 true, // no key
		"k-1":                              true,
		strings.Repeat("k", 255):           true,
		strings.Repeat("k", 256):           false,
		"caf\xe9":                          false,
		"café":                             false,
		"a b":                              false,
		"a\x00":                            false,
		strings.Repeat("é", 200):           false, // 400 bytes: refused for what it is, not its length
		"\u202egnp.exe":                    false,
		"0190a6f4-6d0e-7b8a-9c1d-2e3f4a5b": true,
	} {
		err := idempotency.CheckKey(key)
		if (err == nil) != ok || (err != nil && !errors.Is(err, idempotency.ErrKeyInvalid)) {
			t.Errorf("CheckKey(%q) = %v, want ok %v", key, err, ok)
		}
	}
}
