package page

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/platform/problem"
)

var (
	byTime = NewKeyset("test.by_time", Time("created_at"), UUID("id"))
	bySeq  = NewKeyset("test.by_seq", Int("seq"))
)

// A cursor reads back as the key it was made of, to the microsecond, the
// precision Postgres keeps.
func TestCursorRoundTrip(t *testing.T) {
	at := time.Date(2031, 5, 17, 9, 30, 12, 123456789, time.FixedZone("CEST", 2*3600))
	id := uuid.Must(uuid.NewV7())
	for _, c := range []struct {
		k    Keyset
		key  []any
		want []any
	}{
		{byTime, []any{at, id}, []any{at.Truncate(time.Microsecond).UTC(), id}},
		{byTime, []any{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), uuid.Nil}, nil},
		{byTime, []any{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), uuid.Max}, nil},
		{bySeq, []any{int64(42)}, nil},
		{bySeq, []any{int64(-1)}, nil},
	} {
		want := c.want
		if want == nil {
			want = c.key
		}
		cur, err := c.k.encode(c.key)
		if err != nil {
			t.Fatalf("encode %v: %v", c.key, err)
		}
		if strings.ContainsAny(string(cur), "+/=") {
			t.Errorf("cursor %q is not unpadded base64url: it must go into a query as it is", cur)
		}
		got, err := c.k.decode(string(cur))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("decode(encode(%v)) = %v, %v; want %v", c.key, got, err, want)
		}
	}
}

// A key that does not match the keyset's columns is a bug of the caller's,
// reported as an error, never a cursor.
func TestEncodeRefusesAKeyOfTheWrongShape(t *testing.T) {
	for _, key := range [][]any{
		{time.Now()},
		{time.Now(), uuid.New(), int64(1)},
		{uuid.New(), time.Now()},
		{time.Now(), uuid.New().String()},
	} {
		if cur, err := byTime.encode(key); err == nil {
			t.Errorf("encode(%v) = %q, want an error", key, cur)
		}
	}
	if cur, err := bySeq.encode([]any{42}); err == nil {
		t.Errorf("an int for an int64 column made the cursor %q", cur)
	}
}

// Whatever a client makes of a cursor, it is a 400 invalid_cursor: garbage,
// a cursor cut short or lengthened, any one character changed, a cursor of
// another list, of an unknown version, or holding a time no row can have.
func TestDecodeRefusesWhatNoListGave(t *testing.T) {
	cur, err := byTime.encode([]any{time.Now(), uuid.New()})
	if err != nil {
		t.Fatal(err)
	}
	s := string(cur)
	bad := map[string]string{
		"not base64":             "not a cursor!",
		"padded":                 s + "==",
		"empty bytes":            "AAAA",
		"cut short":              s[:len(s)-4],
		"lengthened":             s + "AAAA",
		"of another list":        string(must(bySeq.encode([]any{int64(7)}))),
		"of a list of same kind": string(must(NewKeyset("test.other", Time("created_at"), UUID("id")).encode([]any{time.Now(), uuid.New()}))),
		"of an unknown version":  withVersion(byTime, 2, []byte(strings.Repeat("k", 24))),
		"of the year 10000":      withVersion(byTime, cursorVersion, append(be64(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()), make([]byte, 16)...)),
		"of no key at all":       withVersion(byTime, cursorVersion, nil),
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range s {
		for _, r := range []byte{alphabet[(strings.IndexByte(alphabet, s[i])+1)%64], alphabet[(strings.IndexByte(alphabet, s[i])+33)%64]} {
			bad[fmt.Sprintf("character %d changed to %c", i, r)] = s[:i] + string(r) + s[i+1:]
		}
	}
	for name, c := range bad {
		key, err := byTime.decode(c)
		var p *problem.Problem
		if !errors.As(err, &p) || p.Status != http.StatusBadRequest || p.Code != "invalid_cursor" {
			t.Errorf("%s (%q): %v, %v; want a 400 invalid_cursor", name, c, key, err)
		}
	}
}

func TestNewKeysetRefusesWhatIsNotAColumn(t *testing.T) {
	for name, f := range map[string]func(){
		"no columns":   func() { NewKeyset("x") },
		"no name":      func() { NewKeyset("", Int("seq")) },
		"an injection": func() { NewKeyset("x", Int("seq; DROP TABLE t")) },
		"an expr":      func() { NewKeyset("x", Int("lower(id)")) },
		"a bare kind":  func() { NewKeyset("x", Column{name: "id"}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: NewKeyset did not panic", name)
				}
			}()
			f()
		}()
	}
	k := NewKeyset("x", Time("t.created_at"), UUID("t.id"))
	if k.where != "(t.created_at, t.id) < (?, ?)" || k.order != "t.created_at DESC, t.id DESC" {
		t.Errorf("keyset SQL: %q, %q", k.where, k.order)
	}
}

// withVersion is a cursor of k with a checksum that checks out around any
// version and body, as only a client that read this file would make.
func withVersion(k Keyset, version byte, body []byte) string {
	b := append([]byte{version}, body...)
	sum := k.checksum(b)
	return base64.RawURLEncoding.EncodeToString(append(b, byte(sum>>24), byte(sum>>16), byte(sum>>8), byte(sum)))
}

func be64(n int64) []byte {
	u := uint64(n)
	return []byte{byte(u >> 56), byte(u >> 48), byte(u >> 40), byte(u >> 32), byte(u >> 24), byte(u >> 16), byte(u >> 8), byte(u)}
}

func must(c Cursor, err error) Cursor {
	if err != nil {
		panic(err)
	}
	return c
}
