package apptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// Items reads the list at url to its end, following next_cursor from page
// to page, and returns every item decoded as T: what a test reads when it
// means the whole list, however many pages it takes.
func Items[T any](t testing.TB, url string, headers ...string) []T {
	t.Helper()
	out := []T{}
	next, cursors := url, map[string]bool{}
	for {
		items, cursor := getPage(t, next, headers...)
		for _, raw := range items {
			var item T
			if err := json.Unmarshal(raw, &item); err != nil {
				t.Fatalf("apptest: GET %s: decode an item: %v: %s", next, err, raw)
			}
			out = append(out, item)
		}
		if cursor == "" {
			return out
		}
		if cursors[cursor] {
			t.Fatalf("apptest: GET %s: next_cursor %q again: the list goes round in circles", next, cursor)
		}
		cursors[cursor] = true
		next = withQuery(url, "cursor", cursor)
	}
}

// A List is a list a test made the items of, for ExpectPaged to page
// through.
type List struct {
	URL    string   // absolute, with the list's own query (order_id=...) but no limit or cursor
	Header []string // pairs of name and value sent with every request
	Want   []string // the id of every item in the list, newest first
	// Add, when set, adds an item to the list and returns its id: it is
	// called between pages, as a client pages while others write.
	Add func(t testing.TB) string
}

// ExpectPaged holds l to the rules every list keeps. Paged through two items
// at a time, while Add adds one between pages, it shows each item of Want
// exactly once, in Want's order (newest first), no item twice and nothing
// else but what Add added; created_at, when the items have it, never goes
// up; a page holds two items unless it is the last, whose next_cursor is
// null. Then it breaks the paging as a client does (bad limits, cursors the
// list did not give, one of its own cursors edited) and expects each
// refused with a 4xx problem+json.
func ExpectPaged(t *testing.T, l List) {
	t.Helper()
	var seen []map[string]any
	added := map[string]bool{}
	cursor, anyCursor := "", ""
	for pages := 0; ; pages++ {
		// Two items to a page, and at most one added between two pages:
		// more pages than items means the cursor does not move.
		if pages > len(l.Want)+1 {
			t.Fatalf("apptest: %s: %d pages of two items, for %d items and %d added", l.URL, pages, len(l.Want), len(added))
		}
		u := withQuery(l.URL, "limit", "2")
		if cursor != "" {
			u = withQuery(l.URL, "limit", "2", "cursor", cursor)
		}
		items, next := getPage(t, u, l.Header...)
		if len(items) > 2 || (next != "" && len(items) < 2) {
			t.Fatalf("apptest: GET %s: %d items and next_cursor %q, want 2 items, or at most 2 on the last page", u, len(items), next)
		}
		for _, raw := range items {
			seen = append(seen, decodeItem(t, u, raw))
		}
		if next == "" {
			break
		}
		cursor, anyCursor = next, next
		if l.Add != nil {
			added[l.Add(t)] = true
		}
	}
	var got []string
	count := map[string]int{}
	for i, item := range seen {
		id := fmt.Sprint(item["id"])
		if count[id]++; count[id] == 2 {
			t.Errorf("apptest: %s: item %s shown twice", l.URL, id)
		}
		switch {
		case slices.Contains(l.Want, id):
			got = append(got, id)
		case !added[id]:
			t.Errorf("apptest: %s: item %s is neither one the test made nor one it added", l.URL, id)
		}
		if i > 0 && newer(item, seen[i-1]) {
			t.Errorf("apptest: %s: item %s (created_at %v) is newer than the item before it (%v)", l.URL, id, item["created_at"], seen[i-1]["created_at"])
		}
	}
	if !slices.Equal(got, l.Want) {
		t.Errorf("apptest: %s: paged two at a time, the items came as\n%v\nwant each once, newest first\n%v", l.URL, got, l.Want)
	}
	ex := Example{Method: http.MethodGet, URL: l.URL, Header: l.Header}
	for _, v := range pagingVariants(ex, anyCursor) {
		t.Run(v.name, func(t *testing.T) {
			res := v.send(t, ex)
			if res.Status >= 500 {
				t.Fatalf("status %d: %s", res.Status, res.Body)
			}
			res.ExpectProblem(t, v.status, v.code)
		})
	}
}

// pagingVariants are the ways a client breaks the paging of the list at
// ex.URL: a limit that is not a whole number from 1 to 500 is a 422
// validation_failed, as any bad query parameter; a cursor the list did not
// give is a 400 invalid_cursor. cursor is one the list gave, whose variant
// changes a character of it, or "" when the list is too short to give one.
func pagingVariants(ex Example, cursor string) []variant {
	limit := func(name string, values ...string) variant {
		var query []string
		for _, v := range values {
			query = append(query, "limit", v)
		}
		return variant{name: "limit " + name, url: withQuery(ex.URL, query...), status: 422, code: "validation_failed"}
	}
	badCursor := func(name string, values ...string) variant {
		var query []string
		for _, v := range values {
			query = append(query, "cursor", v)
		}
		return variant{name: "cursor " + name, url: withQuery(ex.URL, query...), status: 400, code: "invalid_cursor"}
	}
	vs := []variant{
		limit("0", "0"),
		limit("501", "501"),
		limit("-1", "-1"),
		limit("ten", "ten"),
		limit("2.5", "2.5"),
		limit("empty", ""),
		limit("given twice", "1", "2"),
		limit("past any integer", "99999999999999999999999"),
		badCursor("of garbage", "not a cursor!"),
		badCursor("that is base64 of nothing the list made", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
		badCursor("empty", ""),
		badCursor("of 1,000 characters", strings.Repeat("A", 1000)),
		badCursor("given twice", "AAAA", "AAAA"),
	}
	if cursor != "" {
		vs = append(vs, badCursor("of this list with a character changed", tamper(cursor)))
	}
	return vs
}

// listVariants are the paging variants of ex when it is a list, a GET that
// answers an object with items, and none otherwise. The cursor they edit is
// the one the list gives after a page of one item.
func listVariants(t *testing.T, ex Example) []variant {
	t.Helper()
	res := DoRaw(t, http.MethodGet, ex.URL, nil, ex.Header...)
	var body map[string]json.RawMessage
	if res.Status != http.StatusOK || json.Unmarshal(res.Body, &body) != nil || body["items"] == nil {
		return nil
	}
	_, cursor := getPage(t, withQuery(ex.URL, "limit", "1"), ex.Header...)
	return pagingVariants(ex, cursor)
}

// tamper changes the middle character of a base64url cursor to another one.
func tamper(cursor string) string {
	i := len(cursor) / 2
	c := byte('A')
	if cursor[i] == 'A' {
		c = 'B'
	}
	return cursor[:i] + string(c) + cursor[i+1:]
}

// getPage GETs one page of a list, checks its shape (items, an array;
// next_cursor, a string or null) and returns its items and next cursor, ""
// on the last page.
func getPage(t testing.TB, url string, headers ...string) ([]json.RawMessage, string) {
	t.Helper()
	r := Do(t, http.MethodGet, url, nil, headers...).Expect(t, http.StatusOK)
	var body map[string]json.RawMessage
	r.Decode(t, &body)
	var items []json.RawMessage
	if err := json.Unmarshal(body["items"], &items); err != nil || items == nil {
		t.Fatalf("apptest: GET %s: items is not an array: %s", url, r.Body)
	}
	raw, ok := body["next_cursor"]
	if !ok {
		t.Fatalf("apptest: GET %s: a list without next_cursor: %s", url, r.Body)
	}
	var next *string
	if err := json.Unmarshal(raw, &next); err != nil || (next != nil && *next == "") {
		t.Fatalf("apptest: GET %s: next_cursor is %s, want a cursor or null", url, raw)
	}
	if next == nil {
		return items, ""
	}
	return items, *next
}

// decodeItem decodes an item of a list, its numbers kept as written.
func decodeItem(t testing.TB, url string, raw json.RawMessage) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var item map[string]any
	if err := dec.Decode(&item); err != nil || item["id"] == nil {
		t.Fatalf("apptest: GET %s: an item without an id: %s", url, raw)
	}
	return item
}

// newer reports whether item a was created after item b, by their
// created_at, when both have one.
func newer(a, b map[string]any) bool {
	at, errA := time.Parse(time.RFC3339Nano, fmt.Sprint(a["created_at"]))
	bt, errB := time.Parse(time.RFC3339Nano, fmt.Sprint(b["created_at"]))
	return errA == nil && errB == nil && at.After(bt)
}

// withQuery is rawURL with the query parameters of pairs, name then value,
// added to those it has.
func withQuery(rawURL string, pairs ...string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	q := u.Query()
	for i := 0; i+1 < len(pairs); i += 2 {
		q.Add(pairs[i], pairs[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}
