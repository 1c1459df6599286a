package page_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/page"
	"github.com/uberservice/uberservice/platform/problem"
)

func TestParseReadsLimitAndCursor(t *testing.T) {
	for query, want := range map[string]page.Request{
		"":                      {},
		"limit=1":               {Limit: 1},
		"limit=500":             {Limit: 500},
		"limit=050":             {Limit: 50},
		"cursor=abc":            {Cursor: "abc"},
		"limit=2&cursor=abc":    {Limit: 2, Cursor: "abc"},
		"account_id=x&limit=10": {Limit: 10},
	} {
		q, err := url.ParseQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := page.Parse(q)
		if err != nil || got != want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v", query, got, err, want)
		}
	}
}

// A limit that is not one whole number from 1 to 500 breaks a rule, as a
// bad query parameter does anywhere: 422 naming the field.
func TestParseRefusesABadLimit(t *testing.T) {
	for _, query := range []string{
		"limit=0", "limit=501", "limit=-1", "limit=+5", "limit=1.5", "limit=1e2", "limit=ten",
		"limit=", "limit=%205", "limit=5%20", "limit=99999999999999999999999", "limit=1&limit=2",
		"limit=%D9%A5", // an Arabic-Indic five: a digit, not an ASCII one
	} {
		q, _ := url.ParseQuery(query)
		_, err := page.Parse(q)
		p := expectProblem(t, query, err, http.StatusUnprocessableEntity, problem.ErrInvalid.Code)
		if p != nil && (len(p.Errors) != 1 || p.Errors[0].Field != "limit") {
			t.Errorf("Parse(%q): errors %+v, want one naming limit", query, p.Errors)
		}
	}
}

// A cursor given twice, empty or longer than any cursor is refused before it
// is read; an empty one especially, which a client that sends a null
// next_cursor back as "" would otherwise loop on.
func TestParseRefusesAnUnusableCursor(t *testing.T) {
	for _, query := range []string{"cursor=", "cursor=a&cursor=b", "cursor=" + strings.Repeat("A", 257)} {
		q, _ := url.ParseQuery(query)
		_, err := page.Parse(q)
		p := expectProblem(t, query, err, http.StatusBadRequest, page.ErrInvalidCursor.Code)
		if p != nil && (len(p.Errors) != 1 || p.Errors[0].Field != "cursor") {
			t.Errorf("Parse(%q): errors %+v, want one naming cursor", query, p.Errors)
		}
	}
}

// next_cursor is always there: a string, or null on the last page.
func TestNextCursorIsNullOnTheLastPage(t *testing.T) {
	for p, want := range map[*page.Page[int]]string{
		{Items: []int{}}:                  `{"items":[],"next_cursor":null}`,
		{Items: []int{3, 2}, Next: "AbC"}: `{"items":[3,2],"next_cursor":"AbC"}`,
	} {
		got, err := json.Marshal(p)
		if err != nil || string(got) != want {
			t.Errorf("%+v is written %s, %v; want %s", *p, got, err, want)
		}
		var back page.Page[int]
		if err := json.Unmarshal(got, &back); err != nil || back.Next != p.Next {
			t.Errorf("%s reads back as %+v, %v", got, back, err)
		}
	}
}

func TestMapKeepsTheCursor(t *testing.T) {
	p := page.Map(page.Page[int]{Items: []int{1, 2}, Next: "c"}, func(n int) string { return strings.Repeat("x", n) })
	if len(p.Items) != 2 || p.Items[1] != "xx" || p.Next != "c" {
		t.Errorf("Map = %+v", p)
	}
	if empty := page.Map(page.Page[int]{}, func(int) int { return 0 }); empty.Items == nil {
		t.Error("Map of an empty page has nil items, which is written null")
	}
}

func expectProblem(t *testing.T, what string, err error, status int, code string) *problem.Problem {
	t.Helper()
	var p *problem.Problem
	if !errors.As(err, &p) {
		t.Errorf("%s: %v, want a %d %s problem", what, err, status, code)
		return nil
	}
	if p.Status != status || p.Code != code {
		t.Errorf("%s: %d %s (%s), want %d %s", what, p.Status, p.Code, p.Detail, status, code)
	}
	return p
}

// A page is written with its items, [] when there are none, and its
// next_cursor, null on the last page.
func TestWriteIsItemsAndNextCursor(t *testing.T) {
	e := echo.New()
	for p, want := range map[*page.Page[int]]string{
		{}:                              `{"items":[],"next_cursor":null}`,
		{Items: []int{2, 1}, Next: "c"}: `{"items":[2,1],"next_cursor":"c"}`,
	} {
		rec := httptest.NewRecorder()
		if err := page.Write(e.NewContext(httptest.NewRequest(http.MethodGet, "/", nil), rec), *p); err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(rec.Body.String()); rec.Code != http.StatusOK || got != want {
			t.Errorf("Write(%+v) wrote %d %s, want 200 %s", *p, rec.Code, got, want)
		}
	}
}
