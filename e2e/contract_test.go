package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/apptest"
)

// The DTOs of the HTTP contract (design/DOMAIN.md), as a client decodes them.

type account struct {
	ID           string `json:"id"`
	Owner        string `json:"owner"` // the subject of the customer who opened it
	OwnerName    string `json:"owner_name"`
	Email        string `json:"email"`
	Currency     string `json:"currency"`
	Balance      int64  `json:"balance"`
	Status       string `json:"status"`
	ReferralCode string `json:"referral_code"`
	CreatedAt    string `json:"created_at"`
}

var accountKeys = []string{"id", "owner_name", "email", "currency", "balance", "status", "referral_code", "created_at"}

type transaction struct {
	ID           string `json:"id"`
	AccountID    string `json:"account_id"`
	Kind         string `json:"kind"`
	Amount       int64  `json:"amount"`
	BalanceAfter int64  `json:"balance_after"`
	CreatedAt    string `json:"created_at"`
}

var transactionKeys = []string{"id", "account_id", "kind", "amount", "balance_after", "created_at"}

type manager struct {
	ID            string `json:"id"`
	Subject       string `json:"subject"` // the manager's person
	Name          string `json:"name"`
	Email         string `json:"email"`
	ReferralCode  string `json:"referral_code"`
	CommissionBps int    `json:"commission_bps"`
	CreatedAt     string `json:"created_at"`
}

var managerKeys = []string{"id", "name", "email", "referral_code", "commission_bps", "created_at"}

type commission struct {
	ID            string `json:"id"`
	AccountID     string `json:"account_id"`
	TransactionID string `json:"transaction_id"`
	Amount        int64  `json:"amount"`
	CreatedAt     string `json:"created_at"`
}

type commissions struct {
	Items []commission `json:"items"`
	Total int64        `json:"total"`
}

type notification struct {
	ID        string `json:"id"`
	To        string `json:"to"`
	Subject   string `json:"subject"`
	Status    string `json:"status"`
	CreatedAt string `json:"created_at"`
}

type portalView struct {
	Account account `json:"account"`
	Manager *struct {
		ID    string `json:"id"`
		Name  string `json:"name"`
		Email string `json:"email"`
	} `json:"manager"`
	Degraded []string `json:"degraded"`
}

type summary struct {
	Manager  manager `json:"manager"`
	Accounts []struct {
		AccountID string `json:"account_id"`
		OwnerName string `json:"owner_name"`
		Balance   int64  `json:"balance"`
		Currency  string `json:"currency"`
	} `json:"accounts"`
	CommissionTotal int64 `json:"commission_total"`
}

// expectJSON fails unless r has status and a JSON object body holding every
// one of keys, then decodes it into v (when v is not nil).
func expectJSON(t testing.TB, r apptest.Response, status int, v any, keys ...string) map[string]any {
	t.Helper()
	r.Expect(t, status)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q, want application/json: %s", ct, r.Body)
	}
	m := r.JSON(t)
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Fatalf("field %q missing from %s", k, r.Body)
		}
	}
	if v != nil {
		r.Decode(t, v)
	}
	return m
}

// expectProblem fails unless r is a problem+json document with status, code
// (when not empty), a type and a title.
func expectProblem(t testing.TB, r apptest.Response, status int, code string) map[string]any {
	t.Helper()
	m := r.ExpectProblem(t, status, code)
	for _, k := range []string{"type", "title"} {
		if s, _ := m[k].(string); s == "" {
			t.Fatalf("problem without %s: %s", k, r.Body)
		}
	}
	return m
}

// expectFieldError fails unless problem m lists field among its errors.
func expectFieldError(t testing.TB, m map[string]any, field string) {
	t.Helper()
	errs, _ := m["errors"].([]any)
	for _, e := range errs {
		if fe, ok := e.(map[string]any); ok && fe["field"] == field {
			if msg, _ := fe["message"].(string); msg == "" {
				t.Fatalf("field error for %s without a message: %v", field, m)
			}
			return
		}
	}
	t.Fatalf("problem does not name field %q in errors: %v", field, m)
}

// expectUUID fails unless s is a UUID string.
func expectUUID(t testing.TB, what, s string) {
	t.Helper()
	if !uuidRE.MatchString(strings.ToLower(s)) {
		t.Fatalf("%s %q is not a UUID", what, s)
	}
}

// expectTime fails unless s is an RFC 3339 time in UTC, and returns it.
func expectTime(t testing.TB, what, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s %q is not RFC 3339: %v", what, s, err)
	}
	if _, offset := tm.Zone(); offset != 0 {
		t.Fatalf("%s %q is not UTC", what, s)
	}
	return tm
}

// items GETs the list at url, every page of it, following next_cursor, and
// decodes all its items into v.
func items(t testing.TB, url string, v any, headers ...string) {
	t.Helper()
	all := []json.RawMessage{}
	pages(t, url, func(body []byte) {
		var page struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(body, &page); err != nil || page.Items == nil {
			t.Fatalf("GET %s: items is not an array: %s", url, body)
		}
		all = append(all, page.Items...)
	}, headers...)
	data, err := json.Marshal(all)
	if err == nil {
		err = json.Unmarshal(data, v)
	}
	if err != nil {
		t.Fatalf("GET %s: decode items: %v: %s", url, err, data)
	}
}

// pages GETs the list at url page by page, following next_cursor, and hands
// each page's body to page. Every list has items and next_cursor, a cursor
// or null on the last page.
func pages(t testing.TB, url string, page func(body []byte), headers ...string) {
	t.Helper()
	next := url
	for n := 0; ; n++ {
		if n == 1000 {
			t.Fatalf("GET %s: a thousand pages and no end", url)
		}
		var cursor struct {
			Next *string `json:"next_cursor"`
		}
		r := apptest.Do(t, http.MethodGet, next, nil, headers...)
		expectJSON(t, r, http.StatusOK, &cursor, "items", "next_cursor")
		page(r.Body)
		if cursor.Next == nil {
			return
		}
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		next = url + sep + "cursor=" + *cursor.Next // base64url: nothing to escape
	}
}

func describe(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
