package validate_test

import (
	"fmt"
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
	const (
		control   = "must not contain control characters"
		separator = "must not contain line or paragraph separators"
		notUTF8   = "must be valid UTF-8 text"
		invisible = "must contain a visible character"
	)
	format := func(r rune) string {
		return fmt.Sprintf("must not contain invisible formatting characters (found %U)", r)
	}
	bidi := func(r rune) string {
		return fmt.Sprintf("must not contain bidirectional formatting characters (found %U)", r)
	}
	for _, c := range []struct {
		name, s  string
		required bool
		want     string
	}{
		{"empty and optional", "", false, ""},
		{"empty and required", "", true, "is required"},
		{"as long as allowed, counted in characters", "éééé", true, ""},
		{"a name", "Ada", true, ""},
		{"a space inside", "A B", true, ""},
		{"a no-break space inside", "A\u00a0B", true, ""},
		{"Cyrillic", "Ада", true, ""},
		{"CJK", "李小龍", true, ""},
		{"Arabic, right to left without any control", "علي", true, ""},
		{"a combining accent", "Jo\u0301", true, ""},
		{"an emoji", "\U0001F600", true, ""},
		{"an emoji with a skin tone", "\U0001F44D\U0001F3FD", true, ""},
		{"a ZWJ inside an emoji sequence", "\U0001F469\u200D\U0001F4BB", true, ""},
		{"a ZWNJ inside a Persian word", "\u0645\u06cc\u200c\u062e", true, ""},
		{"too long", "abcde", false, "must be at most 4 characters"},
		{"too long and a control character: the length is said", "a\nbcde", false, "must be at most 4 characters"},

		{"a tab", "a\tb", false, control},
		{"a NUL", "a\x00", true, control},
		{"a CR", "a\rb", true, control},
		{"a LF", "a\nb", true, control},
		{"DEL", "a\x7fb", true, control},
		{"a C1 control, NEL", "a\u0085b", true, control},
		{"a line separator", "a\u2028b", true, separator},
		{"a paragraph separator", "a\u2029b", true, separator},
		{"invalid UTF-8", "a\xffb", false, notUTF8},
		{"a Latin-1 byte", "caf\xe9", true, notUTF8},
		{"the replacement character JSON decoding puts for invalid UTF-8", "caf\ufffd", true, notUTF8},

		{"only a zero-width space", "\u200b", true, format(0x200b)},
		{"a zero-width space inside", "Ad\u200ba", true, format(0x200b)},
		{"a word joiner", "Ad\u2060a", true, format(0x2060)},
		{"a byte order mark", "\ufeffAda", true, format(0xfeff)},
		{"a soft hyphen", "Ad\u00ada", true, format(0x00ad)},
		{"a tag character", "Ada\U000E0041", true, format(0xe0041)},
		{"a ZWJ at the start", "\u200dAda", true, format(0x200d)},
		{"a ZWJ at the end", "Ada\u200d", true, format(0x200d)},
		{"a ZWNJ before a space", "A\u200c b", true, format(0x200c)},
		{"two joiners together", "a\u200d\u200db", true, format(0x200d)},
		{"a ZWJ alone", "\u200d", true, format(0x200d)},
		{"a right-to-left override", "A\u202Etx", true, bidi(0x202e)},
		{"a left-to-right embedding", "\u202aAda", true, bidi(0x202a)},
		{"a pop directional formatting", "Ada\u202c", true, bidi(0x202c)},
		{"a first strong isolate", "\u2068Ad\u2069", true, bidi(0x2068)},
		{"a right-to-left mark", "Ada\u200f", true, bidi(0x200f)},
		{"a left-to-right mark", "\u200eAda", true, bidi(0x200e)},
		{"an Arabic letter mark", "\u061cAda", true, bidi(0x061c)},

		{"only spaces, required", "   ", true, "is required"},
		{"only spaces, optional", "   ", false, invisible},
		{"only an ideographic space", "\u3000", true, "is required"},
		{"only Hangul fillers", "\u3164\u3164", true, "is required"},
		{"only a Braille blank", "\u2800", false, invisible},
		{"only a combining mark", "\u0301", true, "is required"},
		{"only a variation selector", "\ufe0f", true, "is required"},
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

// Every character that Text refuses for what it is, whatever the length, is
// one HasControl reports: a module that checks a length of its own still
// refuses what every other module refuses.
func TestHasControl(t *testing.T) {
	for s, want := range map[string]bool{
		"order-42": false, "naïve café": false, "\U0001F469\u200D\U0001F4BB": false, "   ": false,
		"a\x00b": true, "a\rb": true, "\u0085": true, "a\u2028": true, "a\xffb": true, "a\ufffd": true,
		"\u200b": true, "Ada\u202Etxt": true, "\u200dAda": true,
	} {
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
	for code, ok := range map[string]bool{"USD": true, "JPY": true, "usd": false, "US": false, "": false, "USDX": false, "ZZZ": false, "XXX": false, "XTS": false} {
		got := check(t, func(v *problem.Violations) bool { return validate.Currency(v, "f", code) })
		if want := map[bool]string{true: "", false: "must be the ISO 4217 code of a currency in use, such as USD"}[ok]; got != want {
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
