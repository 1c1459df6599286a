// Package page pages the lists a module answers, all in one way: a client
// asks for ?limit= items (DefaultLimit unless it says, MaxLimit at most)
// after an opaque ?cursor= that the previous page gave it as next_cursor,
// and gets them newest first.
//
// Pages are keyset pages (see Keyset and Find), not offsets: a page starts
// after the sort key of the last row the client saw, so rows written while a
// client pages, before or after its position, neither shift an old row onto
// a second page nor push one past it, and a deep page costs the database no
// more than the first.
//
// A handler reads the Request from the query (Parse) and writes the Page it
// gets back (web.Page); between them, a service passes the Request to its
// store, whose query Find pages, and answers a Page of domain values (Map).
package page

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/problem"
)

// The sizes of a page.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// The names of the query parameters Parse reads.
const (
	LimitParam  = "limit"
	CursorParam = "cursor"
)

// maxCursorLength bounds a cursor before it is decoded: the longest any
// Keyset makes is far shorter, so a longer one was not made by one.
const maxCursorLength = 256

// ErrInvalidCursor answers a cursor that no list of this module gave, or
// gave for another list: garbled, cut short, edited, from a format no
// longer read, or empty. It is a 400, like a malformed body: the client
// sent something it was not given, and no rule can make sense of it.
var ErrInvalidCursor = problem.New(http.StatusBadRequest, "invalid_cursor",
	"The cursor is not one this list gave")

// Request asks for one page of a list. The zero Request asks for the first
// page of DefaultLimit items, so that code calling a service directly need
// not spell it out.
type Request struct {
	Limit  int    // 1 to MaxLimit; 0 means DefaultLimit
	Cursor string // a Page's Next, or "" for the first page
}

// size is the number of items r asks for.
func (r Request) size() int {
	if r.Limit <= 0 {
		return DefaultLimit
	}
	return min(r.Limit, MaxLimit)
}

// Page is one page of a list, newest first.
type Page[T any] struct {
	// Items are never nil in a page Find or Map returns, so that an empty
	// page is written [], not null.
	Items []T `json:"items"`
	// Next asks for the page after this one; it is empty on the last page.
	Next Cursor `json:"next_cursor"`
}

// Cursor is where the next page of a list starts, opaque to clients.
type Cursor string

// MarshalJSON writes the cursor as a string, or as null when there is no
// next page: next_cursor is in every list, so that a client can test it
// rather than its absence, and null cannot be mistaken for a cursor that
// happens to be empty.
func (c Cursor) MarshalJSON() ([]byte, error) {
	if c == "" {
		return []byte("null"), nil
	}
	return []byte(strconv.Quote(string(c))), nil
}

// Map returns p with each item passed through f, for a store that reads rows
// and a service that answers what the contract shows of them.
func Map[T, U any](p Page[T], f func(T) U) Page[U] {
	out := Page[U]{Items: make([]U, len(p.Items)), Next: p.Next}
	for i, item := range p.Items {
		out.Items[i] = f(item)
	}
	return out
}

// Parse reads the Request in a URL's query, strictly, as the platform reads
// bodies: limit is absent or a decimal integer from 1 to MaxLimit, given
// once, else a 422 naming the field as any broken rule; cursor is absent or
// a non-empty cursor, given once, else ErrInvalidCursor. An empty cursor is
// refused rather than read as the first page, so that a client that passes
// on a null next_cursor as "" does not loop over the first page for ever.
// Whether the cursor belongs to the list is for Find to say.
func Parse(q url.Values) (Request, error) {
	var r Request
	if limits, ok := q[LimitParam]; ok {
		n, ok := parseLimit(limits)
		if !ok {
			return Request{}, problem.Invalid(problem.Field(LimitParam,
				"must be given once, as a whole number from 1 to "+strconv.Itoa(MaxLimit)))
		}
		r.Limit = n
	}
	if cursors, ok := q[CursorParam]; ok {
		switch {
		case len(cursors) != 1:
			return Request{}, invalidCursor("the cursor is given more than once")
		case cursors[0] == "":
			return Request{}, invalidCursor("the cursor is empty: leave it out for the first page")
		case len(cursors[0]) > maxCursorLength:
			return Request{}, invalidCursor("the cursor is longer than any this list gives")
		}
		r.Cursor = cursors[0]
	}
	return r, nil
}

// parseLimit reads the one value of limit: ASCII digits only, so no sign,
// space, fraction or exponent, and within range.
func parseLimit(values []string) (int, bool) {
	if len(values) != 1 {
		return 0, false
	}
	s := values[0]
	if s == "" {
		return 0, false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s) // an error for a number too large for an int
	if err != nil || n < 1 || n > MaxLimit {
		return 0, false
	}
	return n, true
}

// invalidCursor is ErrInvalidCursor naming the field and why.
func invalidCursor(why string) *problem.Problem {
	p := ErrInvalidCursor.WithDetail("%s; pass on next_cursor as the list gave it", why)
	p.Errors = []problem.FieldError{problem.Field(CursorParam, why)}
	return p
}

// Write writes p as the answer to c, a 200:
// {"items": [...], "next_cursor": "..." or null}. Every list a module
// answers is one, an object rather than a bare array so that it can carry
// more than its items (the cursor, a total). Nil items are written [].
//
// It is here rather than in platform/web, which the gateways' bindings
// import: a page is read from the database, and that is no gateway's
// business.
func Write[T any](c echo.Context, p Page[T]) error {
	if p.Items == nil {
		p.Items = []T{}
	}
	return c.JSON(http.StatusOK, p)
}
