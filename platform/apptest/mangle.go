package apptest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// member is one key of a JSON object with its value as written.
type member struct {
	key   string
	value json.RawMessage
}

// objectMembers splits a JSON object into its members, in the order written,
// so that a variant can repeat or rename one and leave the rest as they were.
func objectMembers(body []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var m member
		m.key = tok.(string)
		if err := dec.Decode(&m.value); err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return nil, errors.New("an empty object: give the example its fields")
	}
	return ms, nil
}

// encodeMembers writes ms as an object, keys as they are, duplicates kept.
func encodeMembers(ms []member) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		key, _ := json.Marshal(m.key)
		b.Write(key)
		b.WriteByte(':')
		b.Write(m.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// leaf is a string somewhere in a decoded JSON document.
type leaf struct {
	path  string // lines[0].sku
	name  string // sku
	value string
}

// stringLeaves lists the strings of doc, in objects and arrays at any depth.
func stringLeaves(doc any, path string) []leaf {
	switch v := doc.(type) {
	case string:
		name := path[strings.LastIndexAny(path, ".]")+1:]
		return []leaf{{path: path, name: name, value: v}}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []leaf
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			out = append(out, stringLeaves(v[k], p)...)
		}
		return out
	case []any:
		var out []leaf
		for i, e := range v {
			out = append(out, stringLeaves(e, path+"["+strconv.Itoa(i)+"]")...)
		}
		return out
	}
	return nil
}

// encodeWith writes doc with the string at path replaced by s.
func encodeWith(t testing.TB, doc any, path, s string) []byte {
	t.Helper()
	changed := replaceAt(doc, "", path, s)
	out, err := json.Marshal(changed)
	if err != nil {
		t.Fatalf("apptest: encode a variant: %v", err)
	}
	return out
}

// replaceAt copies doc, with the string at path (as stringLeaves names it)
// replaced by s.
func replaceAt(doc any, here, path, s string) any {
	switch v := doc.(type) {
	case string:
		if here == path {
			return s
		}
		return v
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			p := k
			if here != "" {
				p = here + "." + k
			}
			out[k] = replaceAt(e, p, path, s)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = replaceAt(e, fmt.Sprintf("%s[%d]", here, i), path, s)
		}
		return out
	}
	return doc
}
