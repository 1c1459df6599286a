package moduledoc

import (
	"encoding"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Field is one field of an event's JSON payload.
type Field struct {
	// Name is its JSON name; a field of a nested object is named by its path
	// ("lines[].sku"). The fields of an embedded struct are the payload's own,
	// as encoding/json flattens them.
	Name string
	// Type is its JSON type, with the Go type where that says more:
	// "integer", "string (uuid.UUID)", "array of object".
	Type string
	// OmitEmpty says the field is left out when empty (omitempty, omitzero).
	OmitEmpty bool
}

// TypeName is the Go type of v, as a reader of its package would write it:
// "events.AccountCreated".
func TypeName(v any) string {
	if v == nil {
		return ""
	}
	return reflect.TypeOf(v).String()
}

// Fields lists the JSON fields of v, a struct or a pointer to one, as
// encoding/json writes them, in declaration order; nil for anything else.
func Fields(v any) []Field {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	return fields(t, "", nil)
}

var (
	timeType      = reflect.TypeFor[time.Time]()
	marshaler     = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// fields lists t's fields under prefix; path holds the struct types being
// walked, so that a recursive type ends.
func fields(t reflect.Type, prefix string, path []reflect.Type) []Field {
	if slices.Contains(path, t) {
		return nil
	}
	path = append(path, t)
	var out []Field
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" && deref(ft).Kind() == reflect.Struct && !special(deref(ft)) {
			out = append(out, fields(deref(ft), prefix, path)...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		omit := slices.ContainsFunc(strings.Split(opts, ","), func(o string) bool { return o == "omitempty" || o == "omitzero" })
		out = append(out, Field{Name: prefix + name, Type: jsonType(ft), OmitEmpty: omit})
		switch inner := deref(ft); {
		case inner.Kind() == reflect.Struct && !special(inner):
			out = append(out, fields(inner, prefix+name+".", path)...)
		case (inner.Kind() == reflect.Slice || inner.Kind() == reflect.Array) && deref(inner.Elem()).Kind() == reflect.Struct && !special(deref(inner.Elem())):
			out = append(out, fields(deref(inner.Elem()), prefix+name+"[].", path)...)
		}
	}
	return out
}

// jsonType is how t appears in JSON.
func jsonType(t reflect.Type) string {
	switch {
	case t == timeType:
		return "string (RFC 3339 time)"
	case t.Kind() == reflect.Pointer:
		return jsonType(t.Elem()) + " or null"
	case implements(t, marshaler):
		return "JSON (" + t.String() + ")"
	case implements(t, textMarshaler):
		return "string (" + t.String() + ")"
	}
	var kind string
	switch t.Kind() {
	case reflect.String:
		kind = "string"
	case reflect.Bool:
		kind = "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		kind = "integer"
	case reflect.Float32, reflect.Float64:
		kind = "number"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return "string (base64)"
		}
		return "array of " + jsonType(t.Elem())
	case reflect.Map:
		return "object of " + jsonType(t.Elem())
	case reflect.Struct:
		return "object"
	default:
		return "any"
	}
	if t.PkgPath() != "" { // a named type says more than its kind
		return kind + " (" + t.String() + ")"
	}
	return kind
}

// special says t encodes itself, so its fields are not its JSON's.
func special(t reflect.Type) bool {
	return t == timeType || implements(t, marshaler) || implements(t, textMarshaler)
}

func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || reflect.PointerTo(t).Implements(iface)
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}
