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

// RequiredText is Text for a field that must not be blank: empty, or nothing
// but spaces and characters that show nothing, is "is required".
func RequiredText(v *problem.Violations, field, s string, max int) bool {
	return text(v, field, s, max, true)
}

// Text checks a line of text that may be empty, a name, a code or a reference,
// against the one rule every module applies to text it stores and shows:
//
//   - at most max characters, counted as code points, not bytes (a letter
//     with a combining accent counts two);
//   - valid UTF-8; U+FFFD, the replacement character, counts as invalid,
//     since it is what Go's JSON decoder puts in place of bytes that were not
//     UTF-8, so a field holding it was sent in another encoding;
//   - no control characters (Unicode Cc: C0, DEL and C1, so no CR, LF, tab
//     or NUL, which Postgres refuses to store), and no line or paragraph
//     separators (U+2028, U+2029): a line of text is one line;
//   - no bidirectional formatting characters (U+061C, U+200E, U+200F,
//     U+202A to U+202E, U+2066 to U+2069), which make a name read in another
//     order than it is stored ("Ada\u202Etxt.exe" shows as "Adaexe.txt");
//   - no other invisible formatting characters (Unicode Cf: zero-width space,
//     word joiner, BOM, soft hyphen, tag characters...), which hide text or
//     make two names that look the same differ. The exception is a zero-width
//     joiner or non-joiner (U+200D, U+200C) between two letters, marks,
//     numbers or symbols: emoji sequences and Persian, Arabic and Indic
//     writing need them there, and there they show as the letters they join;
//   - something visible, when not empty: a letter, number, punctuation or
//     symbol that is not itself blank (Hangul fillers, the Braille blank).
//
// Text does not normalize (to NFC or otherwise): it checks, it does not
// rewrite, so a module stores what the client sent, as it already decides
// for itself whether to trim. Normalizing would not make look-alike names
// equal anyway (Latin "a" and Cyrillic U+0430 stay different). Characters that
// the Go release's Unicode tables do not know yet pass, but do not count as
// visible.
//
// Text adds one message at most, for the first rule broken in that order.
func Text(v *problem.Violations, field, s string, max int) bool {
	return text(v, field, s, max, false)
}

func text(v *problem.Violations, field, s string, max int, required bool) bool {
	msg := ""
	switch {
	case s == "" && required:
		msg = "is required"
	case s == "":
	case utf8.RuneCountInString(s) > max:
		msg = fmt.Sprintf("must be at most %d characters", max)
	default:
		if msg = refused(s); msg == "" && !strings.ContainsFunc(s, visible) {
			msg = "must contain a visible character"
			if required {
				msg = "is required"
			}
		}
	}
	if msg == "" {
		return true
	}
	v.Add(field, msg)
	return false
}

// HasControl reports whether s holds anything Text refuses for what it is,
// whatever its length: invalid UTF-8, a control character, a line separator,
// a bidirectional or other invisible formatting character. It is for a caller
// that cannot use Text; one that can should, for the length and the message.
func HasControl(s string) bool { return refused(s) != "" }

// refused returns the message for the first character of s that Text
// refuses, or "" when there is none.
func refused(s string) string {
	if !utf8.ValidString(s) {
		return "must be valid UTF-8 text"
	}
	prev := rune(-1)
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			return "must be valid UTF-8 text"
		case unicode.IsControl(r):
			return "must not contain control characters"
		case unicode.In(r, unicode.Zl, unicode.Zp):
			return "must not contain line or paragraph separators"
		case unicode.Is(bidiControls, r):
			return fmt.Sprintf("must not contain bidirectional formatting characters (found %U)", r)
		case unicode.Is(unicode.Cf, r) && !joinsVisible(r, prev, s[i+utf8.RuneLen(r):]):
			return fmt.Sprintf("must not contain invisible formatting characters (found %U)", r)
		}
		prev = r
	}
	return ""
}

// bidiControls are the characters that change the direction text is shown in
// (Unicode's Bidi_Control property).
var bidiControls = &unicode.RangeTable{R16: []unicode.Range16{
	{Lo: 0x061c, Hi: 0x061c, Stride: 1},
	{Lo: 0x200e, Hi: 0x200f, Stride: 1},
	{Lo: 0x202a, Hi: 0x202e, Stride: 1},
	{Lo: 0x2066, Hi: 0x2069, Stride: 1},
}}

// joinsVisible reports whether r is a zero-width joiner or non-joiner
// between prev and the first rune of rest, both of which it can join.
func joinsVisible(r, prev rune, rest string) bool {
	if r != '\u200c' && r != '\u200d' {
		return false
	}
	next, _ := utf8.DecodeRuneInString(rest)
	return joinable(prev) && rest != "" && joinable(next)
}

// joinable reports whether a joiner may stand beside r: a letter, a mark (an
// accent, an emoji's variation selector), a number or a symbol (an emoji, a
// skin tone).
func joinable(r rune) bool { return unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.S) }

// visible reports whether r shows something on its own: a letter, number,
// punctuation or symbol that is not one of the blank ones. Spaces, marks
// without a letter to sit on and joiners show nothing.
func visible(r rune) bool {
	switch r {
	case '\u115f', '\u1160', '\u3164', '\uffa0', // Hangul fillers
		'\u2800': // Braille pattern blank
		return false
	}
	return unicode.In(r, unicode.L, unicode.N, unicode.P, unicode.S)
}

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

// Currency checks a currency code: one money.IsCurrency knows, a currency in
// use, not merely three letters.
func Currency(v *problem.Violations, field, code string) bool {
	if money.IsCurrency(code) {
		return true
	}
	v.Add(field, "must be the ISO 4217 code of a currency in use, such as "+money.DefaultCurrency)
	return false
}
