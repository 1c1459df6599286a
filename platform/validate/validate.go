// Package validate holds the field rules that several modules share, each with
// the one message a client reads for it, so that the same mistake reads the
// same whichever module it is made in. A check adds the field's violation, if
// any, to a problem.Violations and reports whether the value passed. A rule
// that belongs to one module stays in that module.
package validate

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/uberservice/uberservice/platform/money"
	"github.com/uberservice/uberservice/platform/problem"
)

// RequiredText is Text for a field that must not be empty.
func RequiredText(v *problem.Violations, field, s string, max int) bool {
	if s == "" {
		v.Add(field, "is required")
		return false
	}
	return Text(v, field, s, max)
}

// Text checks a line of text, a name or a code, that may be empty: at most
// max characters (as a person counts them, not bytes), and valid UTF-8 with
// no control characters.
func Text(v *problem.Violations, field, s string, max int) bool {
	switch {
	case utf8.RuneCountInString(s) > max:
		v.Add(field, fmt.Sprintf("must be at most %d characters", max))
	case !utf8.ValidString(s) || HasControl(s):
		v.Add(field, "must not contain control characters")
	default:
		return true
	}
	return false
}

// HasControl reports control characters, which have no business in names,
// codes and references (and a NUL is one Postgres refuses to store).
func HasControl(s string) bool { return strings.ContainsFunc(s, unicode.IsControl) }

// Positive checks a count or an amount: greater than zero and at most max.
func Positive(v *problem.Violations, field string, n, max int64) bool {
	switch {
	case n <= 0:
		v.Add(field, "must be greater than zero")
	case n > max:
		v.Add(field, fmt.Sprintf("must be at most %d", max))
	default:
		return true
	}
	return false
}

// Currency checks a currency code (money.IsCurrency).
func Currency(v *problem.Violations, field, code string) bool {
	if money.IsCurrency(code) {
		return true
	}
	v.Add(field, "must be an ISO 4217 code such as "+money.DefaultCurrency)
	return false
}
