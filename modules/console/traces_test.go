package console

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"

// fakeJaeger answers as Jaeger's query API does: the trace by id, and a
// search by service and tags that finds it for the correlation id "req-1"
// when asked of im.
func fakeJaeger(t *testing.T) string {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/traces/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") != traceID {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"data":null,"errors":[{"code":404,"msg":"trace not found"}]}`)
			return
		}
		fmt.Fprintf(w, `{"data":[{"traceID":%q,"spans":[
			{"spanID":"b","operationName":"accounts.Get","references":[{"refType":"CHILD_OF","spanID":"a"}],"startTime":1000200,"duration":3000,"processID":"p2","tags":[]},
			{"spanID":"a","operationName":"GET /v1/portal/accounts/:id","references":[],"startTime":1000000,"duration":10000,"processID":"p1","tags":[]},
			{"spanID":"c","operationName":"SELECT","references":[{"refType":"CHILD_OF","spanID":"b"}],"startTime":1000300,"duration":1000,"processID":"p2","tags":[{"key":"error","value":true}]}],
			"processes":{"p1":{"serviceName":"portal"},"p2":{"serviceName":"accounts"}}}]}`, traceID)
	})
	mux.HandleFunc("GET /api/traces", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("service") == "im" && q.Get("tags") == `{"correlation_id":"req-1"}` && q.Get("limit") == "1" {
			fmt.Fprintf(w, `{"data":[{"traceID":%q,"spans":[],"processes":{}}]}`, traceID)
			return
		}
		fmt.Fprint(w, `{"data":[]}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestTraceLookUp(t *testing.T) {
	jaeger := fakeJaeger(t)
	w := newWorld(t, jaeger+"/")
	for _, q := range []string{strings.ToUpper(traceID), "req-1"} {
		status, body, _ := w.send(t, "GET", "/?trace="+q, nil, operator...)
		if status != http.StatusOK {
			t.Fatalf("%s: %d", q, status)
		}
		// The path of the request: portal, then accounts under it, then its
		// query under that, which failed.
		portal := strings.Index(body, `<span class="indent d0">portal</span>`)
		get := strings.Index(body, `<span class="indent d1">accounts</span></td><td>accounts.Get`)
		sel := strings.Index(body, `<tr class="failed">`)
		if portal < 0 || get < portal || sel < get || !strings.Contains(body, `href="`+jaeger+`/trace/`+traceID+`"`) || !strings.Contains(body, "3 spans") {
			t.Errorf("%s: the span tree is not shown in order (%d, %d, %d):\n%s", q, portal, get, sel, body)
		}
	}
	for q, want := range map[string]string{
		"00000000000000000000000000000001": "knows no trace",
		"req-2":                            "No trace carries the correlation id req-2",
		"not%20an%20id!":                   "Neither a trace id",
	} {
		if _, body, _ := w.send(t, "GET", "/?trace="+q, nil, operator...); !strings.Contains(body, want) {
			t.Errorf("%s: the page does not say %q", q, want)
		}
	}
}

func TestTraceWithoutBackend(t *testing.T) {
	w := newWorld(t, "")
	if _, body, _ := w.send(t, "GET", "/?trace="+traceID, nil, operator...); !strings.Contains(body, "No trace backend is configured (--trace-ui URL") {
		t.Errorf("the page does not say there is no backend:\n%s", body)
	}
	down := newWorld(t, "http://127.0.0.1:1")
	if status, body, _ := down.send(t, "GET", "/?trace="+traceID, nil, operator...); status != http.StatusOK || !strings.Contains(body, "trace backend:") {
		t.Errorf("a backend that is down: %d", status)
	}
}
