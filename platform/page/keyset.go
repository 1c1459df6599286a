package page

import (
	"fmt"
	"regexp"
	"strings"

	"gorm.io/gorm"
)

// Keyset is the order of one list and what pages it: columns of its rows
// that together tell any two rows apart and never change once written (a
// creation time and a unique id, a ledger position), compared newest first.
// The columns must be NOT NULL, and an index on them, after the list's own
// filter, keeps every page as cheap as the first.
type Keyset struct {
	list    string
	columns []Column
	where   string // (a, b) < (?, ?): the rows after a cursor
	order   string // a DESC, b DESC
}

// Column is one column of a Keyset, with the type of its values.
type Column struct {
	name string
	kind kind
}

// kind is the type of a Column's values, which a cursor stores.
type kind byte

const (
	kindTime kind = iota + 1 // time.Time, kept to the microsecond as Postgres keeps it
	kindUUID                 // uuid.UUID
	kindInt                  // int64
)

// Time is a timestamptz column, read as a time.Time.
func Time(name string) Column { return Column{name: name, kind: kindTime} }

// UUID is a uuid column, read as a uuid.UUID.
func UUID(name string) Column { return Column{name: name, kind: kindUUID} }

// Int is a bigint column, read as an int64.
func Int(name string) Column { return Column{name: name, kind: kindInt} }

// identifier is a column name, maybe qualified by its table: the only text
// of a Keyset that goes into SQL as it is.
var identifier = regexp.MustCompile(`^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)?$`)

// NewKeyset returns the keyset of the list named list, ordered by columns,
// the most significant first. The name, module and list ("accounts.
// transactions"), goes into every cursor's checksum, so that a cursor of one
// list is refused by another rather than read as a position in it.
//
// A keyset is declared once, in a package variable, so NewKeyset panics when
// it is declared wrong: no name, no columns, or a column that is not a plain
// SQL identifier.
func NewKeyset(list string, columns ...Column) Keyset {
	if list == "" || len(columns) == 0 {
		panic("page: a keyset needs a list name and at least one column")
	}
	names := make([]string, len(columns))
	marks := make([]string, len(columns))
	desc := make([]string, len(columns))
	for i, c := range columns {
		if !identifier.MatchString(c.name) || c.kind == 0 {
			panic(fmt.Sprintf("page: keyset %s: %q is not a column name", list, c.name))
		}
		names[i], marks[i], desc[i] = c.name, "?", c.name+" DESC"
	}
	return Keyset{
		list:    list,
		columns: append([]Column(nil), columns...),
		// A row comparison, which Postgres answers from an index on the
		// columns in that order, where the equivalent ORs would not be.
		where: "(" + strings.Join(names, ", ") + ") < (" + strings.Join(marks, ", ") + ")",
		order: strings.Join(desc, ", "),
	}
}

// Find reads the page that req asks for of the rows q selects, newest first
// by k. q is a query with its table, columns and filter (Table, Select,
// Where) and no order or limit: Find adds the keyset's condition (the rows
// after the cursor), its ORDER BY and a LIMIT of one row more than the page
// holds, which tells whether another page follows without counting them.
// key returns a row's values of k's columns, in order, as the Column types
// say.
//
// A cursor this list did not give is ErrInvalidCursor; anything else that
// fails is the database's error, wrapped.
func Find[T any](q *gorm.DB, k Keyset, req Request, key func(T) []any) (Page[T], error) {
	after, err := k.decode(req.Cursor)
	if err != nil {
		return Page[T]{}, err
	}
	limit := req.size()
	rows := make([]T, 0, limit+1)
	if err := q.Scopes(k.scope(after, limit+1)).Scan(&rows).Error; err != nil {
		return Page[T]{}, fmt.Errorf("page: read %s: %w", k.list, err)
	}
	if rows == nil {
		rows = []T{}
	}
	if len(rows) <= limit {
		return Page[T]{Items: rows}, nil
	}
	rows = rows[:limit]
	next, err := k.encode(key(rows[limit-1]))
	if err != nil {
		return Page[T]{}, fmt.Errorf("page: %s: %w", k.list, err)
	}
	return Page[T]{Items: rows, Next: next}, nil
}

// scope is the keyset's part of a page's query: the rows after the key
// after (all rows when it is nil), newest first, n of them at most.
func (k Keyset) scope(after []any, n int) func(*gorm.DB) *gorm.DB {
	return func(db *gorm.DB) *gorm.DB {
		if after != nil {
			db = db.Where(k.where, after...)
		}
		return db.Order(k.order).Limit(n)
	}
}
