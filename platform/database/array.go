package database

import (
	"database/sql/driver"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
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

// Each type is also a pgtype.ArrayGetter, which pgx looks for before a
// driver.Valuer: it then sends the array in binary, element by element,
// where a Valuer's text would have it parse the text back into an array
// first (after failing, and building an error, at encoding the text as the
// array). That was a tenth of a deposit's CPU, in the relay's and the mail
// dispatcher's statements.

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

// dims are the dimensions of a list of n: one, even for none, so that a nil
// list is an empty array, as its Value is, not NULL.
func dims(n int) []pgtype.ArrayDimension {
	return []pgtype.ArrayDimension{{Length: int32(n), LowerBound: 1}}
}

// Dimensions, Index and IndexType implement pgtype.ArrayGetter.
func (a Int64s) Dimensions() []pgtype.ArrayDimension { return dims(len(a)) }
func (a Int64s) Index(i int) any                     { return a[i] }
func (a Int64s) IndexType() any                      { return int64(0) }

// Dimensions, Index and IndexType implement pgtype.ArrayGetter.
func (a UUIDs) Dimensions() []pgtype.ArrayDimension { return dims(len(a)) }
func (a UUIDs) Index(i int) any                     { return pgtype.UUID{Bytes: a[i], Valid: true} }
func (a UUIDs) IndexType() any                      { return pgtype.UUID{} }

// Dimensions, Index and IndexType implement pgtype.ArrayGetter.
func (a Texts) Dimensions() []pgtype.ArrayDimension { return dims(len(a)) }
func (a Texts) Index(i int) any                     { return a[i] }
func (a Texts) IndexType() any                      { return "" }
