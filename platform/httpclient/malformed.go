package httpclient

import (
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"

	"github.com/uberservice/uberservice/platform/problem"
)

// ErrBadGateway is the problem of a call whose peer answered 2xx with
// something that is not the contract's answer: not JSON, or JSON that lacks a
// field the contract always writes. The peer is unwell (an instance of another
// version, a proxy answering in its place), so the call counts as a failure
// for the endpoint's breaker, and a caller that passes the error on answers
// 502 bad_gateway, never a 500 or a half-filled value.
var ErrBadGateway = problem.New(http.StatusBadGateway, "bad_gateway", "A dependency answered something that is not its contract")

type malformed struct {
	p     *problem.Problem
	cause error
}

func badGateway(cause error) error {
	return &malformed{p: ErrBadGateway.WithDetail("%v", cause), cause: cause}
}

func (m *malformed) Error() string   { return m.p.Error() }
func (m *malformed) Unwrap() []error { return []error{m.p, m.cause} } // errors.As finds m.p here

// decodeStrict decodes data into out and checks that every field out's type
// always has, at any depth, is there: a field without omitempty, which
// encoding/json writes whatever its value. Fields the answer has and out has
// not are let through, as a newer version of the peer may add some.
func decodeStrict(data []byte, out any) error {
	if len(data) == 0 {
		return errors.New("empty body")
	}
	if err := json.Unmarshal(data, out); err != nil {
		return err
	}
	return required(reflect.TypeOf(out).Elem(), data, "") // out points to the answer, which must be there
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// required checks the JSON value data against type t, at path.
func required(t reflect.Type, data json.RawMessage, path string) error {
	for t.Kind() == reflect.Pointer {
		if string(data) == "null" {
			return nil
		}
		t = t.Elem()
	}
	if p := reflect.PointerTo(t); p.Implements(jsonUnmarshaler) || p.Implements(textUnmarshaler) {
		return nil // decodes itself: json.Unmarshal checked it
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		var items []json.RawMessage
		if json.Unmarshal(data, &items) != nil {
			return nil // null, or bytes as base64
		}
		for i, item := range items {
			if err := required(t.Elem(), item, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case reflect.Struct:
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
			return fmt.Errorf("%s: want an object", orRoot(path))
		}
		return requiredFields(t, fields, path)
	}
	return nil
}

func requiredFields(t reflect.Type, fields map[string]json.RawMessage, path string) error {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		embedded := f.Type
		if embedded.Kind() == reflect.Pointer {
			embedded = embedded.Elem()
		}
		if f.Anonymous && name == "" && embedded.Kind() == reflect.Struct {
			if err := requiredFields(embedded, fields, path); err != nil { // promoted fields, as encoding/json promotes them
				return err
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		raw, ok := lookup(fields, name)
		if !ok {
			if hasOption(opts, "omitempty") || hasOption(opts, "omitzero") {
				continue
			}
			return fmt.Errorf("%s: field %q is missing", orRoot(path), name)
		}
		if err := required(f.Type, raw, path+"."+name); err != nil {
			return err
		}
	}
	return nil
}

// lookup finds name as encoding/json does: exactly, else ignoring case.
func lookup(fields map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if raw, ok := fields[name]; ok {
		return raw, true
	}
	for k, raw := range fields {
		if strings.EqualFold(k, name) {
			return raw, true
		}
	}
	return nil, false
}

func orRoot(path string) string {
	if path == "" {
		return "the answer"
	}
	return strings.TrimPrefix(path, ".")
}

// hasOption reports whether a json tag's options (after the name) list opt.
func hasOption(opts, opt string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == opt {
			return true
		}
	}
	return false
}
