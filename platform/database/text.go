package database

import "strings"

// StorableText is s as a Postgres text column takes it: invalid UTF-8 becomes
// U+FFFD and NUL, which no text value may hold, becomes U+2400 (␀). Text the
// platform did not choose, an error's message above all, goes through it
// before it is stored: otherwise the write that records a failure fails
// itself, and the failure is never recorded.
func StorableText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\ufffd"), "\x00", "\u2400")
}
