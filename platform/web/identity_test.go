package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/uberservice/uberservice/platform/web"
)

// Every response of an identified server names the instance, whatever
// answers it: a handler, the router's 404 and 405, a limit's problem, a
// panic's; and /readyz says the version and instance in its body, beside
// its status and checks.
func TestEveryResponseNamesTheInstance(t *testing.T) {
	e := server()
	id := web.Identity{Module: "test", Version: "1.4.2", Instance: "0b6f7c1e-instance"}
	web.Identify(e, id)
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		method, path string
		header       string
		status       int
	}{
		{"GET", "/readyz", "", 200},
		{"GET", "/things/1", "", 200},
		{"GET", "/nope", "", 404},
		{"DELETE", "/things/1", "", 405},
		{"GET", "/panic", "", 500},
		{"GET", "/healthz", strings.Repeat("a", 9<<10), 431},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		if tc.header != "" {
			req.Header.Set("X-A", tc.header)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, res.StatusCode, tc.status)
		}
		if got := res.Header.Get(web.InstanceHeader); got != "test/1.4.2/0b6f7c1e-instance" {
			t.Errorf("%s %s (%d): %s %q, want test/1.4.2/0b6f7c1e-instance", tc.method, tc.path, res.StatusCode, web.InstanceHeader, got)
		}
	}

	res, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Status, Version, Instance string
		Checks                    map[string]string
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if body.Status != "ready" || body.Checks["db"] != "ok" || body.Version != "1.4.2" || body.Instance != id.Instance {
		t.Errorf("/readyz: %+v, want ready, db ok, version 1.4.2, instance %s", body, id.Instance)
	}
}

// A server nobody identified says nothing of it: no header, and /readyz only
// its status and checks.
func TestAnUnidentifiedServerSaysNothing(t *testing.T) {
	rec := httptest.NewRecorder()
	server().ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if h := rec.Header().Get(web.InstanceHeader); h != "" {
		t.Errorf("%s %q, want none", web.InstanceHeader, h)
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if _, ok := body["version"]; ok || body["status"] != "ready" {
		t.Errorf("/readyz %v, want status and checks alone", body)
	}
}
