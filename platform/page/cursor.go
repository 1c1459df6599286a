package page

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"

	"github.com/google/uuid"
)

// A cursor is the sort key of the last row of a page, written as
//
//	base64url(version | key | checksum)
//
// version is one byte, cursorVersion; key is each column's value in order, a
// time as its microseconds since 1970 and an int as 8 bytes big-endian, a
// UUID as its 16 bytes; checksum is the CRC-32C of the list's name, a zero
// byte, version and key, 4 bytes big-endian.
//
// The checksum makes a cursor that was garbled, cut short or edited, or
// that another list gave, a 400 rather than a page from somewhere else. It is
// no signature, and need not be: a cursor only says where a page starts, the
// list's own filter still decides which rows a client sees, so a forged
// cursor shows nothing a client could not page to. Without a secret,
// cursors stay valid across instances, restarts and key rotations.
//
// A release that changes the layout gives it a new version, and keeps
// reading the old one for as long as clients may hold such cursors (a
// rolling deployment serves both).
const cursorVersion = 1

// checksumSize is the length of a cursor's checksum.
const checksumSize = 4

var (
	castagnoli = crc32.MakeTable(crc32.Castagnoli)
	// encoding is strict, so that a changed last character, which may
	// change only the bits past the last byte, is refused too.
	encoding = base64.RawURLEncoding.Strict()
)

// Postgres keeps times from 4713 BC to 294276 AD; a cursor holds one that a
// row had, so anything outside these years was not made by a Keyset, and
// would be a database error rather than a refusal if it went through.
const minYear, maxYear = 1, 9999

// encode makes the cursor that starts the page after the row whose key is
// values.
func (k Keyset) encode(values []any) (Cursor, error) {
	if len(values) != len(k.columns) {
		return "", fmt.Errorf("a key of %d values for %d columns", len(values), len(k.columns))
	}
	b := []byte{cursorVersion}
	for i, c := range k.columns {
		switch v := values[i].(type) {
		case time.Time:
			if c.kind != kindTime {
				return "", c.mismatch(v)
			}
			b = binary.BigEndian.AppendUint64(b, uint64(v.UnixMicro()))
		case uuid.UUID:
			if c.kind != kindUUID {
				return "", c.mismatch(v)
			}
			b = append(b, v[:]...)
		case int64:
			if c.kind != kindInt {
				return "", c.mismatch(v)
			}
			b = binary.BigEndian.AppendUint64(b, uint64(v))
		default:
			return "", c.mismatch(v)
		}
	}
	b = binary.BigEndian.AppendUint32(b, k.checksum(b))
	return Cursor(encoding.EncodeToString(b)), nil
}

func (c Column) mismatch(v any) error {
	return fmt.Errorf("column %s: a key value of type %T", c.name, v)
}

// errForeign is why decode refuses a cursor: the client learns no more
// than that it was not given it.
var errForeign = errors.New("the cursor is not one this list gave")

// decode returns the key a cursor of k holds, or nil for no cursor.
func (k Keyset) decode(cursor string) ([]any, error) {
	if cursor == "" {
		return nil, nil
	}
	key, err := k.read(cursor)
	if err != nil {
		return nil, invalidCursor(err.Error())
	}
	return key, nil
}

func (k Keyset) read(cursor string) ([]any, error) {
	b, err := encoding.DecodeString(cursor)
	if err != nil || len(b) < 1+checksumSize {
		return nil, errForeign
	}
	body, sum := b[:len(b)-checksumSize], binary.BigEndian.Uint32(b[len(b)-checksumSize:])
	if k.checksum(body) != sum {
		return nil, errForeign
	}
	if body[0] != cursorVersion {
		return nil, errors.New("the cursor is of a format this release no longer reads: start from the first page")
	}
	body = body[1:]
	key := make([]any, len(k.columns))
	for i, c := range k.columns {
		size := 8
		if c.kind == kindUUID {
			size = 16
		}
		if len(body) < size {
			return nil, errForeign
		}
		field := body[:size]
		body = body[size:]
		switch c.kind {
		case kindTime:
			t := time.UnixMicro(int64(binary.BigEndian.Uint64(field))).UTC()
			if t.Year() < minYear || t.Year() > maxYear {
				return nil, errForeign
			}
			key[i] = t
		case kindUUID:
			key[i] = uuid.UUID(field)
		case kindInt:
			key[i] = int64(binary.BigEndian.Uint64(field))
		}
	}
	if len(body) != 0 {
		return nil, errForeign
	}
	return key, nil
}

// checksum is the CRC-32C of k's list name, a zero byte and body: a cursor
// checks out for the list that made it alone.
func (k Keyset) checksum(body []byte) uint32 {
	h := crc32.New(castagnoli)
	h.Write([]byte(k.list))
	h.Write([]byte{0})
	h.Write(body)
	return h.Sum32()
}
