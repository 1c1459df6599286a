package apptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Response is an HTTP answer read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map (or fails the test).
func (r Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("apptest: body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// Decode decodes the body into v (or fails the test).
func (r Response) Decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("apptest: decode body: %v: %s", err, r.Body)
	}
}

// Do sends a request. body may be nil, a string or []byte sent as is, or any
// value sent as JSON. headers are pairs of name and value. A request with a
// body is sent as application/json unless headers say otherwise.
func Do(t testing.TB, method, url string, body any, headers ...string) Response {
	t.Helper()
	return do(t, jsonHeaders(body, headers), method, url, body)
}

// DoRaw is Do with no header but those given: a body without a
// Content-Type is sent without one.
func DoRaw(t testing.TB, method, url string, body any, headers ...string) Response {
	t.Helper()
	return do(t, headers, method, url, body)
}

func do(t testing.TB, headers []string, method, url string, body any) Response {
	t.Helper()
	req, err := request(method, url, body, headers)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	res, err := Send(http.DefaultClient, req)
	if err != nil {
		t.Fatalf("apptest: %v", err)
	}
	return res
}

// NewRequest is the request Do sends, for a test that sends it itself: on
// a client of its own, or from goroutines, where a failed request is an
// error to collect rather than a test to stop.
func NewRequest(method, url string, body any, headers ...string) (*http.Request, error) {
	return request(method, url, body, jsonHeaders(body, headers))
}

// Send sends req on client and reads the answer whole.
func Send(client *http.Client, req *http.Request) (Response, error) {
	resp, err := client.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("read %s %s: %w", req.Method, req.URL, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// jsonHeaders are headers, after a JSON Content-Type when there is a body.
func jsonHeaders(body any, headers []string) []string {
	if body == nil {
		return headers
	}
	return append([]string{"Content-Type", "application/json"}, headers...)
}

// request builds a request of body, encoded as Do says, with headers.
func request(method, url string, body any, headers []string) (*http.Request, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("encode body: %w", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req, nil
}

// Eventually polls cond every 20ms until it holds or timeout passes.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("apptest: %s did not happen within %s", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Expect fails the test unless r has the wanted status.
func (r Response) Expect(t testing.TB, status int) Response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("apptest: status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// ExpectProblem fails the test unless r is a problem+json with status and,
// when code is not empty, that code.
func (r Response) ExpectProblem(t testing.TB, status int, code string) map[string]any {
	t.Helper()
	r.Expect(t, status)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("apptest: content type %q, want application/problem+json: %s", ct, r.Body)
	}
	m := r.JSON(t)
	if code != "" && m["code"] != code {
		t.Fatalf("apptest: problem code %v, want %s: %s", m["code"], code, r.Body)
	}
	if fmt.Sprint(m["status"]) != fmt.Sprint(status) {
		t.Fatalf("apptest: problem status field %v, want %d", m["status"], status)
	}
	return m
}
