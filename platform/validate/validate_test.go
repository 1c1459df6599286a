package validate_test

import (
	"strings"
	"testing"

	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/validate"
)

// check runs one rule on a fresh set of violations and returns what it said of
// the field: "" when the value passed.
func check(t *testing.T, rule func(v *problem.Violations) bool) string {
	t.Helper()
	var v problem.Violations
	ok := rule(&v)
	switch {
	case len(v) > 1:
		t.Fatalf("one field got %d messages: %v", len(v), v)
	case ok != (len(v) == 0):
		t.Fatalf("the rule reports ok=%v and added %v", ok, v)
	case len(v) == 1:
		if v[0].Field != "f" {
			t.Fatalf("the message is for %q, want f", v[0].Field)
		}
		return v[0].Message
	}
	return ""
}

func TestText(t *testing.T) {
	for _, c := range []struct {
		name, s  string
		required bool
		want     string
	}{
		{"empty and optional", "", false, ""},
		{"empty and required", "", true, "is required"},
		{"as long as allowed, counted in characters", "éééé", true, ""},
		{"too long", "abcde", false, "must be at most 4 characters"},
		{"a control character", "a\tb", false, "must not contain control characters"},
		{"a NUL", "a\x00", true, "must not contain control characters"},
		{"invalid UTF-8", "a\xffb", false, "must not contain control characters"},
		{"too long and a control character: the length is said", "a\nbcde", false, "must be at most 4 characters"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := check(t, func(v *problem.Violations) bool {
				if c.required {
					return validate.RequiredText(v, "f", c.s, 4)
				}
				return validate.Text(v, "f", c.s, 4)
			})
			if got != c.want {
				t.Errorf("%q: %q, want %q", c.s, got, c.want)
			}
		})
	}
}

func TestHasControl(t *testing.T) {
	for s, want := range map[string]bool{"order-42": false, "naïve café": false, "a\x00b": true, "a\rb": true, "\u0085": true} {
		if got := validate.HasControl(s); got != want {
			t.Errorf("HasControl(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestPositive(t *testing.T) {
	for n, want := range map[int64]string{
		-1: "must be greater than zero",
		0:  "must be greater than zero",
		1:  "",
		10: "",
		11: "must be at most 10",
	} {
		if got := check(t, func(v *problem.Violations) bool { return validate.Positive(v, "f", n, 10) }); got != want {
			t.Errorf("%d: %q, want %q", n, got, want)
		}
	}
}

func TestCurrency(t *testing.T) {
	for code, ok := range map[string]bool{"USD": true, "JPY": true, "usd": false, "US": false, "": false, "USDX": false} {
		got := check(t, func(v *problem.Violations) bool { return validate.Currency(v, "f", code) })
		if want := map[bool]string{true: "", false: "must be an ISO 4217 code such as USD"}[ok]; got != want {
			t.Errorf("%q: %q, want %q", code, got, want)
		}
	}
}

func TestChecksAddToTheViolationsOfTheRequest(t *testing.T) {
	var v problem.Violations
	validate.RequiredText(&v, "name", "", 10)
	validate.Positive(&v, "amount", 0, 10)
	validate.Currency(&v, "currency", "usd")
	validate.Text(&v, "code", strings.Repeat("x", 11), 10)
	if len(v) != 4 {
		t.Fatalf("%d violations, want one per field: %v", len(v), v)
	}
	for i, field := range []string{"name", "amount", "currency", "code"} {
		if v[i].Field != field {
			t.Errorf("violation %d is for %q, want %q", i, v[i].Field, field)
		}
	}
}
