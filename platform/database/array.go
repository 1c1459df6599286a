package database

import (
	"database/sql/driver"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// Int64s and UUIDs pass a list of ids as one Postgres array argument, for
// `= ANY(...)` with a cast: `WHERE id = ANY(?::bigint[])`. gorm expands a
// plain slice into `IN ($1, $2, ...)`: one statement text per length, each
// planned and prepared anew on every connection, which made marking a batch
// of emails sent cost milliseconds. An array is one text and one plan
// whatever the batch's size.
type (
	Int64s []int64
	UUIDs  []uuid.UUID
)

// Value implements driver.Valuer: the array's text form, e.g. {1,2,3}.
func (a Int64s) Value() (driver.Value, error) {
	return arrayText(len(a), func(b *strings.Builder, i int) { b.WriteString(strconv.FormatInt(a[i], 10)) }), nil
}

// Value implements driver.Valuer: the array's text form, {uuid,uuid}.
func (a UUIDs) Value() (driver.Value, error) {
	return arrayText(len(a), func(b *strings.Builder, i int) { b.WriteString(a[i].String()) }), nil
}

func arrayText(n int, write func(b *strings.Builder, i int)) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		write(&b, i)
	}
	b.WriteByte('}')
	return b.String()
}

// Texts passes a list of strings as one Postgres text array argument, like
// Int64s: `= ANY(?::text[])`, or `unnest(?::text[])`.
type Texts []string

// Value implements driver.Valuer: the array's text form, every element quoted.
func (a Texts) Value() (driver.Value, error) {
	return arrayText(len(a), func(b *strings.Builder, i int) {
		b.WriteByte('"')
		for _, r := range a[i] {
			if r == '"' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}), nil
}
