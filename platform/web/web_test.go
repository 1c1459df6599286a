package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/web"
)

type payload struct {
	Amount int64  `json:"amount"`
	Name   string `json:"name"`
	Lines  []line `json:"lines"`
}

type line struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

func server() *echo.Echo {
	e := web.New("test", slog.New(slog.DiscardHandler))
	e.POST("/things", func(c echo.Context) error {
		var p payload
		if err := web.Bind(c, &p); err != nil {
			return err
		}
		return c.JSON(http.StatusCreated, map[string]any{"p": p, "correlation": correlation.ID(c.Request().Context())})
	})
	e.GET("/things/:id", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"id": c.Param("id")})
	})
	e.GET("/slow", func(c echo.Context) error {
		time.Sleep(time.Second)
		return c.JSON(http.StatusOK, map[string]string{"status": "late"})
	})
	e.GET("/panic", func(echo.Context) error { panic("secret internals") })
	web.MountHealth(e, func() []web.Check {
		return []web.Check{{Name: "db", Check: func(context.Context) error { return nil }}}
	})
	return e
}

func TestBadBodiesAreProblems(t *testing.T) {
	cases := []struct {
		name, body, contentType string
		status                  int
		code, field             string
	}{
		{"malformed", `{"amount":`, "application/json", 400, "malformed_request", ""},
		{"empty", ``, "application/json", 400, "malformed_request", ""},
		{"wrong type", `{"amount":"ten"}`, "application/json", 400, "malformed_request", "amount"},
		{"overflow", `{"amount":9223372036854775808}`, "application/json", 400, "malformed_request", "amount"},
		{"float", `{"amount":1.5}`, "application/json", 400, "malformed_request", "amount"},
		{"unknown field", `{"amount":1,"ammount":2}`, "application/json", 400, "malformed_request", "ammount"},
		{"trailing data", `{"amount":1} {}`, "application/json", 400, "malformed_request", ""},
		{"array", `[1]`, "application/json", 400, "malformed_request", ""},
		{"duplicate key", `{"amount":1,"amount":100000}`, "application/json", 400, "malformed_request", "amount"},
		{"duplicate key, same value", `{"amount":1,"amount":1}`, "application/json", 400, "malformed_request", "amount"},
		{"key in another case", `{"amount":1,"AMOUNT":100000}`, "application/json", 400, "malformed_request", "AMOUNT"},
		{"key in another case alone", `{"Amount":100000}`, "application/json", 400, "malformed_request", "Amount"},
		{"key that folds to another", `{"lines":[{"sku":"K1","ſku":"K2"}]}`, "application/json", 400, "malformed_request", "lines[0].ſku"},
		{"key with a Kelvin sign", `{"lines":[{"sku":"K1","s\u212Au":"K2"}]}`, "application/json", 400, "malformed_request", "lines[0].s\u212Au"},
		{"nested duplicate", `{"lines":[{"sku":"K1","sku":"K2"}]}`, "application/json", 400, "malformed_request", "lines[0].sku"},
		{"nested key in another case", `{"lines":[{"sku":"K1"},{"SKU":"K2"}]}`, "application/json", 400, "malformed_request", "lines[1].SKU"},
		{"nested wrong type", `{"lines":[{"sku":"K1","quantity":"2"}]}`, "application/json", 400, "malformed_request", "lines[0].quantity"},
		{"amount 1e30", `{"amount":1e30}`, "application/json", 400, "malformed_request", "amount"},
		{"amount below int64", `{"amount":-9223372036854775809}`, "application/json", 400, "malformed_request", "amount"},
		{"string for an object", `"amount"`, "application/json", 400, "malformed_request", "(body)"},
		{"not json", `amount=1`, "application/x-www-form-urlencoded", 415, "unsupported_media_type", ""},
		{"no content type", `{"amount":1}`, "", 415, "unsupported_media_type", ""},
		{"json with a suffix", `{"amount":1}`, "application/jsonx", 415, "unsupported_media_type", ""},
		{"json as a prefix", `{"amount":1}`, "application/json-seq", 415, "unsupported_media_type", ""},
		{"text", `{"amount":1}`, "text/plain", 415, "unsupported_media_type", ""},
		{"a broken content type", `{"amount":1}`, "application/json; charset", 415, "unsupported_media_type", ""},
		{"empty, no content type", ``, "", 400, "malformed_request", ""},
		{"too large", `{"name":"` + strings.Repeat("x", 70<<10) + `"}`, "application/json", 413, "body_too_large", ""},
	}
	e := server()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/things", strings.NewReader(c.body))
			req.Header.Set("Content-Type", c.contentType)
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("content type %q", ct)
			}
			var p struct {
				Type   string
				Status int
				Code   string
				Errors []struct{ Field string }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if p.Code != c.code || p.Status != c.status || !strings.HasSuffix(p.Type, c.code) {
				t.Fatalf("problem %+v, want code %s status %d", p, c.code, c.status)
			}
			if c.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != c.field) {
				t.Fatalf("field errors %+v, want %s", p.Errors, c.field)
			}
		})
	}
}

func TestJSONIsAcceptedInAnyCaseAndWithParameters(t *testing.T) {
	e := server()
	for _, ct := range []string{"application/json", "APPLICATION/JSON", "Application/Json; charset=UTF-8", "application/json;charset=utf-8"} {
		req := httptest.NewRequest(http.MethodPost, "/things", strings.NewReader(`{"amount":5}`))
		req.Header.Set("Content-Type", ct)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			t.Errorf("Content-Type %q: %d %s", ct, rec.Code, rec.Body)
		}
	}
}

func TestGoodBodyAndRequestID(t *testing.T) {
	e := server()
	req := httptest.NewRequest(http.MethodPost, "/things", strings.NewReader(`{"amount":5,"name":"x"}`))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(correlation.Header, "abc-123")
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if rec.Code != 201 || !strings.Contains(rec.Body.String(), `"correlation":"abc-123"`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if rec.Header().Get(correlation.Header) != "abc-123" {
		t.Fatalf("request id not echoed: %q", rec.Header().Get(correlation.Header))
	}
}

func TestPanicIsAnOpaque500(t *testing.T) {
	e := server()
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/panic", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "secret") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatal("500 is not a problem document")
	}
}

func TestUnknownRouteIsA404Problem(t *testing.T) {
	rec := httptest.NewRecorder()
	server().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/nope", nil))
	if rec.Code != 404 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// typed is a request of the kinds modules bind: ids, times, optional numbers,
// nested lists.
type typed struct {
	ID    uuid.UUID `json:"id"`
	At    time.Time `json:"at"`
	Price *int64    `json:"price"`
	Lines []line    `json:"lines"`
}

func TestDecodeReadsIDsTimesAndNestedValues(t *testing.T) {
	var v typed
	err := web.Decode([]byte(`{"id":"0190a6f4-6d0e-7b8a-9c1d-2e3f4a5b6c7d","at":"2025-03-01T10:00:00+01:00",
		"price":0,"lines":[{"sku":"K1","quantity":2}]}`), &v)
	if err != nil {
		t.Fatal(err)
	}
	if v.ID.String() != "0190a6f4-6d0e-7b8a-9c1d-2e3f4a5b6c7d" || !v.At.Equal(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)) ||
		v.Price == nil || *v.Price != 0 || len(v.Lines) != 1 || v.Lines[0] != (line{"K1", 2}) {
		t.Fatalf("decoded %+v", v)
	}
	for body, detail := range map[string]string{
		`{"id":"nope"}`:                          "id must be a UUID",
		`{"at":"yesterday"}`:                     "at must be an RFC 3339 time",
		`{"price":"1"}`:                          "price must be an integer in range",
		`{"lines":{}}`:                           "lines must be an array",
		`{"id":null,"id":null}`:                  "id appears more than once",
		`{"lines":[{"sku":"a","Sku":"b"}]}`:      "unknown field lines[0].Sku",
		`{"lines":[{"sku":"a"}]}{}`:              "unexpected data after the JSON value",
		" \n\t ":                                 "the request body is empty",
		`{"lines":[{"sku":"a","quantity":1e3}]}`: "lines[0].quantity must be an integer in range",
	} {
		var v typed
		var p *problem.Problem
		if err := web.Decode([]byte(body), &v); !errors.As(err, &p) || p.Status != 400 || p.Detail != detail {
			t.Errorf("%s: %v, want a 400 saying %q", body, err, detail)
		}
	}
}

func TestAnInvalidRequestIDIsReplaced(t *testing.T) {
	e := server()
	for name, id := range map[string]string{
		"too long":      strings.Repeat("a", 129),
		"4 KiB":         strings.Repeat("a", 4<<10),
		"a space":       "abc 123",
		"a quote":       `abc"123`,
		"non-ASCII":     "abç",
		"a control":     "abc\x01",
		"a log forgery": `x correlation_id=admin`,
	} {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/things", strings.NewReader(`{"amount":5}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header[correlation.Header] = []string{id}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			got := rec.Header().Get(correlation.Header)
			if rec.Code != 201 || got == id || !correlation.Valid(got) {
				t.Fatalf("%d: the answer's id is %.40q", rec.Code, got)
			}
			if !strings.Contains(rec.Body.String(), `"correlation":"`+got+`"`) {
				t.Fatalf("the handler's id is not the answer's %q: %s", got, rec.Body)
			}
		})
	}
	long := strings.Repeat("b", 128)
	req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
	req.Header.Set(correlation.Header, long)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	if got := rec.Header().Get(correlation.Header); got != long {
		t.Fatalf("a valid id of 128 characters became %q", got)
	}
}
