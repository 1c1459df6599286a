package apptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/uberservice/uberservice/platform/idempotency"
)

// An Example is a request a module accepts, as a client that means well sends
// it: RefusesBadInput breaks it in each way a careless or hostile client does.
type Example struct {
	Method string
	URL    string   // absolute, with the ids of resources the test made
	Body   string   // a JSON object, or "" for a request without a body
	Header []string // pairs of name and value sent with every variant
}

// A variant is one way of breaking an example, and the refusal it must get.
type variant struct {
	name    string
	url     string // sent instead of the example's URL, when set
	body    []byte // sent with Content-Type application/json unless header sets it
	noType  bool   // send the body with no Content-Type at all
	header  []string
	status  int
	code    string // the problem's code; "" for any
	rawBody int    // when set, a body of this many bytes, written whole before reading
}

// The strings a text field is broken with: each is refused wherever a
// string is taken, whatever the field means.
var badText = []struct{ name, value string }{
	{"a NUL", "\x00"},
	{"CR and LF", "\r\n"},
	{"a bidi override (U+202E)", "\u202e"},
	{"an escape character", "\x1b[31m"},
}

// invisible replaces a whole text field: a value with nothing visible in it.
const invisible = "\u200b\u200b"

// RefusesBadInput holds module's public API (its /v1 routes) to the rule for
// bad input: every variant of every example, broken as a careless or hostile
// client breaks a request (malformed JSON, duplicate and case-variant keys,
// wrong or missing content types, bad Idempotency-Keys, control and
// invisible characters in every string, unknown currencies, oversized bodies
// and headers), is answered with a 4xx problem+json and changes nothing in
// any schema. It also asks of each GET example that HEAD answers like it
// without a body, and that an unusable X-Request-Id is replaced.
//
// A GET example that answers an object with items is a list, and its paging
// is broken too: bad limits, cursors it did not give, and, when it has two
// items or more, one of its own cursors edited (see ExpectPaged). A list
// must say where its next page starts, in next_cursor, even when nowhere.
//
// Every /v1 route of the module must have an example, so that a route added
// later is held to the rule from its first test run.
func (s *System) RefusesBadInput(t *testing.T, module string, examples ...Example) {
	t.Helper()
	s.coverRoutes(t, module, examples)
	before := s.Settled(t)
	for _, ex := range examples {
		t.Run(ex.Method+" "+pathOf(ex.URL), func(t *testing.T) {
			vs := variants(t, ex)
			if ex.Method == http.MethodGet {
				vs = append(vs, listVariants(t, ex)...)
			}
			for _, v := range vs {
				t.Run(v.name, func(t *testing.T) {
					res := v.send(t, ex)
					if after := s.Snapshot(t); after != before {
						t.Errorf("the request changed the data:\n%s", diffLines(before, after))
						before = s.Settled(t) // so that the next variant is judged on its own
					}
					if res.Status >= 500 {
						t.Fatalf("status %d: %s", res.Status, res.Body)
					}
					res.ExpectProblem(t, v.status, v.code)
				})
			}
			if ex.Method == http.MethodGet {
				headLikeGet(t, ex)
				requestIDReplaced(t, ex)
			}
		})
	}
}

// coverRoutes fails t for a /v1 route of module that no example exercises,
// and for an example that matches no route.
func (s *System) coverRoutes(t *testing.T, module string, examples []Example) {
	t.Helper()
	used := make([]bool, len(examples))
	for _, r := range s.Routes(module) {
		if !strings.HasPrefix(r.Path, "/v1/") {
			continue
		}
		pattern := regexp.MustCompile("^" + regexp.MustCompile(`:[^/]+`).ReplaceAllString(regexp.QuoteMeta(r.Path), `[^/]+`) + "$")
		covered := false
		for i, ex := range examples {
			path, _, _ := strings.Cut(pathOf(ex.URL), "?")
			if ex.Method == r.Method && pattern.MatchString(path) {
				covered, used[i] = true, true
			}
		}
		if !covered {
			t.Errorf("apptest: %s %s of %s has no example: give RefusesBadInput one", r.Method, r.Path, module)
		}
	}
	for i, ex := range examples {
		if !used[i] {
			t.Errorf("apptest: the example %s %s matches no /v1 route of %s", ex.Method, ex.URL, module)
		}
	}
}

// variants lists the ways ex is broken.
func variants(t *testing.T, ex Example) []variant {
	t.Helper()
	var vs []variant
	header := []variant{
		{name: "a header over the size limit", header: []string{"X-Padding", strings.Repeat("p", 64<<10)}, status: http.StatusRequestHeaderFieldsTooLarge},
	}
	if ex.Method != http.MethodGet {
		header = append(header,
			variant{name: "an Idempotency-Key that is not UTF-8", header: []string{idempotency.Header, "k\xe9y"}, status: 400, code: "idempotency_key_invalid"},
			variant{name: "an empty Idempotency-Key", header: []string{idempotency.Header, ""}, status: 400, code: "idempotency_key_invalid"},
			variant{name: "an Idempotency-Key over the limit", header: []string{idempotency.Header, strings.Repeat("k", idempotency.MaxKeyLength+1)}, status: 400, code: "idempotency_key_invalid"},
		)
	}
	for _, h := range header {
		h.body = []byte(ex.Body)
		vs = append(vs, h)
	}
	if ex.Body == "" {
		return vs
	}
	body := []byte(ex.Body)
	members, err := objectMembers(body)
	if err != nil {
		t.Fatalf("apptest: the example body of %s %s: %v", ex.Method, ex.URL, err)
	}
	malformed := body[:len(body)/2]
	vs = append(vs,
		variant{name: "malformed JSON", body: malformed, status: 400, code: "malformed_request"},
		variant{name: "an empty body", body: []byte{}, status: 400, code: "malformed_request"},
		variant{name: "a JSON array", body: append(append([]byte("["), body...), ']'), status: 400, code: "malformed_request"},
		variant{name: "data after the object", body: append(append([]byte{}, body...), "{}"...), status: 400, code: "malformed_request"},
		variant{name: "no Content-Type", body: body, noType: true, status: 415},
		variant{name: "Content-Type text/plain", body: body, header: []string{"Content-Type", "text/plain"}, status: 415},
		variant{name: "Content-Type application/jsonx", body: body, header: []string{"Content-Type", "application/jsonx"}, status: 415},
		variant{name: "Content-Type in capitals is JSON (a malformed body proves it was read)", body: malformed,
			header: []string{"Content-Type", "APPLICATION/JSON; charset=utf-8"}, status: 400, code: "malformed_request"},
		variant{name: "a 3 MB body written whole before reading", rawBody: 3 << 20, status: 413, code: "body_too_large"},
		variant{name: "a 9 MB body written whole before reading", rawBody: 9 << 20, status: 413, code: "body_too_large"},
	)
	first := members[0]
	dup := append([]member{first}, members...)
	vs = append(vs, variant{name: "the key " + first.key + " twice", body: encodeMembers(dup), status: 400, code: "malformed_request"})
	for i, m := range members {
		for _, alt := range []string{strings.ToUpper(m.key), strings.Replace(m.key, "s", "ſ", 1), strings.Replace(m.key, "k", "\u212a", 1)} {
			if alt == m.key {
				continue
			}
			changed := append([]member{}, members...)
			changed[i] = member{key: alt, value: m.value}
			vs = append(vs, variant{name: fmt.Sprintf("the key %s written %s", m.key, alt), body: encodeMembers(changed), status: 400, code: "malformed_request"})
		}
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("apptest: the example body of %s %s: %v", ex.Method, ex.URL, err)
	}
	for _, leaf := range stringLeaves(doc, "") {
		put := func(s string) []byte { return encodeWith(t, doc, leaf.path, s) }
		middle := len(leaf.value) / 2
		for _, bad := range badText {
			vs = append(vs, variant{name: leaf.path + " with " + bad.name,
				body: put(leaf.value[:middle] + bad.value + leaf.value[middle:]), status: -1})
		}
		vs = append(vs,
			variant{name: leaf.path + " of invisible characters alone", body: put(invisible), status: -1},
			variant{name: leaf.path + " with invalid UTF-8", body: bytes.Replace(put(leaf.value[:middle]+"\ufffd"+leaf.value[middle:]), []byte("\ufffd"), []byte{0xe9}, 1),
				status: 400, code: "malformed_request"},
			variant{name: leaf.path + " of 10,000 characters", body: put(strings.Repeat("x", 10000)), status: -1},
		)
		if leaf.name == "currency" {
			vs = append(vs, variant{name: leaf.path + " ZZZ, no ISO 4217 currency", body: put("ZZZ"), status: 422, code: "validation_failed"})
		}
	}
	return vs
}

// send sends v of ex and reads the answer. A status of -1 asks for any 4xx:
// the field the variant breaks decides which (422 for a name, 404 for an id).
func (v *variant) send(t *testing.T, ex Example) Response {
	t.Helper()
	var res Response
	if v.rawBody > 0 {
		res = sendWholeBody(t, ex, v.rawBody)
	} else {
		header := append(append([]string{}, ex.Header...), v.header...)
		if !v.noType && v.body != nil && !hasHeader(header, "Content-Type") {
			header = append(header, "Content-Type", "application/json")
		}
		var body any
		if v.body != nil {
			body = v.body
		}
		u := ex.URL
		if v.url != "" {
			u = v.url
		}
		res = DoRaw(t, ex.Method, u, body, header...)
	}
	if v.status == -1 && res.Status >= 400 && res.Status < 500 {
		v.status = res.Status
	}
	return res
}

// pathOf is the path and query of an absolute URL.
func pathOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	return u.RequestURI()
}

func hasHeader(pairs []string, name string) bool {
	for i := 0; i+1 < len(pairs); i += 2 {
		if http.CanonicalHeaderKey(pairs[i]) == http.CanonicalHeaderKey(name) {
			return true
		}
	}
	return false
}

// diffLines shows the lines of after that differ from before.
func diffLines(before, after string) string {
	was := map[string]bool{}
	for _, l := range strings.Split(before, "\n") {
		was[l] = true
	}
	var out []string
	for _, l := range strings.Split(after, "\n") {
		if !was[l] {
			out = append(out, "  now "+l)
		}
	}
	return strings.Join(out, "\n")
}
