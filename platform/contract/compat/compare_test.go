package compat

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// The payloads and DTOs, before and after a change.
type (
	deposited struct {
		AccountID uuid.UUID `json:"account_id"`
		Amount    int64     `json:"amount"`
		Reference string    `json:"reference,omitempty"`
		At        time.Time `json:"at"`
	}
	depositedWithoutAmount struct {
		AccountID uuid.UUID `json:"account_id"`
		Reference string    `json:"reference,omitempty"`
		At        time.Time `json:"at"`
	}
	depositedRenamed struct {
		AccountID uuid.UUID `json:"account_id"`
		Sum       int64     `json:"sum"`
		Reference string    `json:"reference,omitempty"`
		At        time.Time `json:"at"`
	}
	depositedAmountText struct {
		AccountID uuid.UUID `json:"account_id"`
		Amount    string    `json:"amount"`
		Reference string    `json:"reference,omitempty"`
		At        time.Time `json:"at"`
	}
	depositedAccountText struct {
		AccountID string    `json:"account_id"`
		Amount    int64     `json:"amount"`
		Reference string    `json:"reference,omitempty"`
		At        time.Time `json:"at"`
	}
	depositedWithNote struct {
		AccountID uuid.UUID `json:"account_id"`
		Amount    int64     `json:"amount"`
		Reference string    `json:"reference,omitempty"`
		At        time.Time `json:"at"`
		Note      string    `json:"note"`
	}
	depositedWithOptionalNote struct {
		AccountID uuid.UUID `json:"account_id"`
		Amount    int64     `json:"amount"`
		Reference string    `json:"reference,omitempty"`
		At        time.Time `json:"at"`
		Note      string    `json:"note,omitzero"`
	}
	depositedReferenceRequired struct {
		AccountID uuid.UUID `json:"account_id"`
		Amount    int64     `json:"amount"`
		Reference string    `json:"reference"`
		At        time.Time `json:"at"`
	}
	depositedAmountOptional struct {
		AccountID uuid.UUID `json:"account_id"`
		Amount    int64     `json:"amount,omitempty"`
		Reference string    `json:"reference,omitempty"`
		At        time.Time `json:"at"`
	}
	line struct {
		SKU      string `json:"sku"`
		Quantity int    `json:"quantity"`
	}
	lineNoSKU struct {
		Quantity int `json:"quantity"`
	}
	reserve struct {
		Lines []line `json:"lines"`
	}
	reserveOld struct {
		Lines []lineNoSKU `json:"lines"`
	}
)

func payloadOf(t *testing.T, topic string, payload any) Event {
	t.Helper()
	s, err := SchemaOf(reflect.TypeOf(payload))
	if err != nil {
		t.Fatal(err)
	}
	return Event{Topic: topic, Payload: s}
}

func method(t *testing.T, name, route string, in, out any) Method {
	t.Helper()
	m := Method{Gateway: "accounts", Name: name, Route: route, Status: http.StatusOK}
	var err error
	if m.Request, err = SchemaOf(reflect.TypeOf(in)); err != nil {
		t.Fatal(err)
	}
	if out == nil {
		m.Status = http.StatusNoContent
		return m
	}
	if m.Response, err = SchemaOf(reflect.TypeOf(out)); err != nil {
		t.Fatal(err)
	}
	return m
}

const (
	topic  = "accounts.funds_deposited.v1"
	route  = "POST /gateway/accounts/v1/deposits"
	route2 = "POST /gateway/accounts/v2/deposits"
)

func events(t *testing.T, payload any) Set {
	return Set{Events: []Event{payloadOf(t, topic, payload)}}
}

func requests(t *testing.T, in any) Set {
	return Set{Methods: []Method{method(t, "Deposit", route, in, deposited{})}}
}

func responses(t *testing.T, out any) Set {
	return Set{Methods: []Method{method(t, "Deposit", route, deposited{}, out)}}
}

// Each kind of change, in each direction it can go, is told breaking or
// additive, and says what changed.
func TestCompare(t *testing.T) {
	cases := []struct {
		name         string
		old, current Set
		breaking     bool
		want         string // in the change's text
	}{
		// Breaking.
		{"an event's field removed", events(t, deposited{}), events(t, depositedWithoutAmount{}), true, `field "amount" removed (or renamed): its consumers read it`},
		{"an event's field renamed", events(t, deposited{}), events(t, depositedRenamed{}), true, `field "amount" removed (or renamed)`},
		{"an event's field retyped", events(t, deposited{}), events(t, depositedAmountText{}), true, `field "amount" changed type from integer to string`},
		{"a format changed", events(t, deposited{}), events(t, depositedAccountText{}), true, `field "account_id" changed type from string (uuid) to string`},
		{"a new required field in an event", events(t, deposited{}), events(t, depositedWithNote{}), true, `new required field "note": events written before it`},
		{"an event's field made required", events(t, deposited{}), events(t, depositedReferenceRequired{}), true, `field "reference" made required`},
		{"a request's field removed", requests(t, deposited{}), requests(t, depositedWithoutAmount{}), true, `request: field "amount" removed (or renamed): old callers still send it`},
		{"a new required field in a request", requests(t, deposited{}), requests(t, depositedWithNote{}), true, `request: new required field "note": old callers do not send it`},
		{"a request's field made required", requests(t, deposited{}), requests(t, depositedReferenceRequired{}), true, `request: field "reference" made required`},
		{"a response's field removed", responses(t, deposited{}), responses(t, depositedWithoutAmount{}), true, `response: field "amount" removed (or renamed): callers built against it read it`},
		{"a response's field retyped", responses(t, deposited{}), responses(t, depositedAmountText{}), true, `response: field "amount" changed type`},
		{"a nested field removed", requests(t, reserve{}), requests(t, reserveOld{}), true, `request: field "lines[].sku" removed`},
		{"a body answered no more", responses(t, deposited{}), responses(t, nil), true, "response: answers no content now"},
		{"a topic removed", events(t, deposited{}), Set{}, true, "topic accounts.funds_deposited.v1: removed: its consumers still read it"},
		{"a topic removed for its new version", events(t, deposited{}),
			Set{Events: []Event{payloadOf(t, "accounts.funds_deposited.v2", depositedAmountText{})}}, true,
			"its new version accounts.funds_deposited.v2 is right, but the old one stays"},
		{"a method removed", requests(t, deposited{}), Set{}, true, "accounts.Deposit (" + route + "): removed: its route is gone"},
		{"a method moved to its new version", requests(t, deposited{}),
			Set{Methods: []Method{method(t, "Deposit", route2, depositedWithNote{}, deposited{})}}, true,
			"it is now on " + route2 + ": serve the old route beside it"},

		// Additive.
		{"a new optional field in an event", events(t, deposited{}), events(t, depositedWithOptionalNote{}), false, `new optional field "note"`},
		{"a new optional field in a request", requests(t, deposited{}), requests(t, depositedWithOptionalNote{}), false, `request: new optional field "note"`},
		{"a new field in a response", responses(t, deposited{}), responses(t, depositedWithNote{}), false, `response: new field "note"`},
		{"a field left out when empty", events(t, deposited{}), events(t, depositedAmountOptional{}), false, `field "amount" may be left out now`},
		{"a new topic", Set{}, events(t, deposited{}), false, "topic accounts.funds_deposited.v1: new topic"},
		{"a new version beside the old", events(t, deposited{}),
			Set{Events: []Event{payloadOf(t, topic, deposited{}), payloadOf(t, "accounts.funds_deposited.v2", depositedAmountText{})}}, false,
			"topic accounts.funds_deposited.v2: new topic"},
		{"a new method", Set{}, requests(t, deposited{}), false, "accounts.Deposit (" + route + "): new method"},
		{"a method renamed on its route", requests(t, deposited{}),
			Set{Methods: []Method{method(t, "Pay", route, deposited{}, deposited{})}}, false, "renamed Pay in the interface"},
		{"a body answered now", responses(t, nil), responses(t, deposited{}), false, "response: answers a body now"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := Compare(c.old, c.current)
			var found bool
			for _, ch := range r {
				if strings.Contains(ch.String(), c.want) {
					found = true
					if ch.Breaking != c.breaking {
						t.Errorf("%q: breaking = %v, want %v", ch, ch.Breaking, c.breaking)
					}
				}
			}
			if !found {
				t.Errorf("no change says %q; the report:\n%s", c.want, r)
			}
			if !c.breaking && len(r.Breaking()) > 0 {
				t.Errorf("an additive change reported as breaking:\n%s", r)
			}
		})
	}
}

// The same contracts have no changes, and fields moved about are none.
func TestCompareSame(t *testing.T) {
	type reordered struct {
		At        time.Time `json:"at"`
		Reference string    `json:"reference,omitempty"`
		Amount    int64     `json:"amount"`
		AccountID uuid.UUID `json:"account_id"`
	}
	s := Set{Events: []Event{payloadOf(t, topic, deposited{})}, Methods: []Method{method(t, "Deposit", route, reserve{}, deposited{})}}
	if r := Compare(s, s); len(r) > 0 {
		t.Errorf("a set compared with itself:\n%s", r)
	}
	a, _ := Files(events(t, deposited{}))
	b, _ := Files(events(t, reordered{}))
	if stale := Stale(a, b); len(stale) > 0 {
		t.Errorf("fields moved about change %v", stale)
	}
}

// The report lists the breaking changes first, with the fix, then the
// additive ones.
func TestReportString(t *testing.T) {
	r := Compare(events(t, deposited{}), Set{Events: []Event{payloadOf(t, topic, depositedWithoutAmount{}), payloadOf(t, "accounts.funds_withdrawn.v1", deposited{})}})
	got := r.String()
	for _, want := range []string{"1 breaking change(s):", `field "amount" removed`, Fix, "1 additive change(s)", "new topic"} {
		if !strings.Contains(got, want) {
			t.Errorf("the report lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "breaking") > strings.Index(got, "additive") {
		t.Errorf("the breaking changes come after the additive ones:\n%s", got)
	}
}
