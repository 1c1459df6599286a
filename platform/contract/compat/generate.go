package compat

import (
	"encoding"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/invopop/jsonschema"

	"github.com/uberservice/uberservice/platform/contract"
)

// Set is a binary's contracts.
type Set struct {
	Events  []Event  // sorted by topic
	Methods []Method // sorted by gateway, then route
}

// Event is the contract of one topic: the schema of its payload.
type Event struct {
	Topic   string
	Payload Schema
}

// Method is the contract of one gateway method: its route, what it takes
// and what it answers.
type Method struct {
	Gateway string
	Name    string // its name in the gateway's interface
	Route   string // "METHOD /path": what identifies it on the wire
	// Param names the path parameter that carries the request; "" when
	// the request is the JSON body.
	Param   string
	Request Schema
	// Status is the answer's status: 200 with Response as its body, or 204
	// with no body and Response nil.
	Status   int
	Response Schema
}

// Schema is a JSON Schema, as decoded JSON.
type Schema map[string]any

// reflector generates the schemas: the root type inline rather than behind
// a $ref, no $id (a type moving packages is no change of the wire), and
// types that encoding/json writes as text written as strings.
var reflector = &jsonschema.Reflector{Anonymous: true, ExpandedStruct: true, Mapper: textual}

var (
	uuidType      = reflect.TypeFor[uuid.UUID]()
	timeType      = reflect.TypeFor[time.Time]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

// textual maps the types encoding/json writes as a string through their
// MarshalText (a uuid.UUID is a [16]byte, which invopop would describe as an
// array); nil leaves a type to invopop, which knows time.Time.
func textual(t reflect.Type) *jsonschema.Schema {
	switch {
	case t == uuidType:
		return &jsonschema.Schema{Type: "string", Format: "uuid"}
	case t == timeType:
		return nil
	case t.Implements(textMarshaler) || reflect.PointerTo(t).Implements(textMarshaler):
		return &jsonschema.Schema{Type: "string"}
	}
	return nil
}

// SchemaOf is the JSON Schema of t's JSON form.
func SchemaOf(t reflect.Type) (Schema, error) {
	data, err := json.Marshal(reflector.ReflectFromType(t))
	if err != nil {
		return nil, fmt.Errorf("schema of %s: %w", t, err)
	}
	var s Schema
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("schema of %s: %w", t, err)
	}
	sortRequired(s)
	return s, nil
}

// sortRequired sorts every list of required fields under v: invopop lists
// them in the order of the struct's fields, and fields moved about are no
// change of the contract.
func sortRequired(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if list, ok := x.([]any); ok && k == "required" {
				slices.SortFunc(list, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
				continue
			}
			sortRequired(x)
		}
	case Schema:
		sortRequired(map[string]any(v))
	case []any:
		for _, x := range v {
			sortRequired(x)
		}
	}
}

// EventOf is the contract of payload's topic.
func EventOf(payload interface{ Topic() string }) (Event, error) {
	s, err := SchemaOf(reflect.TypeOf(payload))
	if err != nil {
		return Event{}, fmt.Errorf("topic %s: %w", payload.Topic(), err)
	}
	return Event{Topic: payload.Topic(), Payload: s}, nil
}

// MethodOf is the contract of the method of gateway that d describes.
func MethodOf(gateway string, d contract.Description) (Method, error) {
	if d.In == nil || d.Out == nil {
		return Method{}, fmt.Errorf("gateway %s: method %s: its description has no input or output type", gateway, d.Name)
	}
	m := Method{Gateway: gateway, Name: d.Name, Route: d.Route, Param: d.Param, Status: http.StatusOK}
	var err error
	if m.Request, err = SchemaOf(d.In); err != nil {
		return Method{}, fmt.Errorf("gateway %s: method %s: request: %w", gateway, d.Name, err)
	}
	if d.NoContent {
		m.Status = http.StatusNoContent
		return m, nil
	}
	if m.Response, err = SchemaOf(d.Out); err != nil {
		return Method{}, fmt.Errorf("gateway %s: method %s: response: %w", gateway, d.Name, err)
	}
	return m, nil
}

// Sort puts s in its order: events by topic, methods by gateway and route.
func (s *Set) Sort() {
	slices.SortFunc(s.Events, func(a, b Event) int { return strings.Compare(a.Topic, b.Topic) })
	slices.SortFunc(s.Methods, func(a, b Method) int {
		if c := strings.Compare(a.Gateway, b.Gateway); c != 0 {
			return c
		}
		return strings.Compare(a.Route, b.Route)
	})
}
