// Package idempotency makes an operation that moves money or stock safe to
// retry: the result of the first request with a key is stored in the same
// transaction as its effect, and a retry with the same key and request gets
// that result again with no second effect.
//
// It stores values, not responses: which HTTP status answers a result, and
// whether to say that it is a replay, is the handler's business.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"

	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/problem"
)

// Header is the request header that carries the key.
const Header = "Idempotency-Key"

// ReplayedHeader is the response header, set to "true", that tells a client
// it got the stored result of an earlier request.
const ReplayedHeader = "Idempotent-Replayed"

// MaxKeyLength bounds a key, since it is stored. A key is ASCII (CheckKey), so
// its length in bytes and in characters are the same.
const MaxKeyLength = 255

// ErrKeyInvalid is the problem for an Idempotency-Key that breaks a rule of
// CheckKey or KeyFrom; its detail says which. It is a 400, not a 422: the key
// is part of the request's framing, not of the document the request sends.
var ErrKeyInvalid = problem.New(http.StatusBadRequest, "idempotency_key_invalid", "The Idempotency-Key header is invalid")

// ErrKeyTooLong is ErrKeyInvalid for a key over MaxKeyLength. Problems compare
// by code, so errors.Is matches it with any invalid key: test for
// ErrKeyInvalid, and read the detail for which rule.
var ErrKeyTooLong = ErrKeyInvalid.WithDetail("the Idempotency-Key header must be at most %d characters", MaxKeyLength)

// KeyFrom reads the Idempotency-Key of r: "" when r has none. A header that is
// present must hold a key CheckKey accepts; present but empty is refused too,
// rather than read as no key, since a client that sent the header meant its
// request to be safe to retry and would otherwise get a second effect. The
// header given more than once must give the same key each time, since which
// one a server would pick is anyone's guess.
//
// Go's HTTP server hands a header value over as the client sent it, bytes
// beyond ASCII included (RFC 9110's obs-text), so this is where a key that
// the database could not store as text is stopped.
func KeyFrom(r *http.Request) (string, error) {
	values := r.Header.Values(Header)
	if len(values) == 0 {
		return "", nil
	}
	for _, v := range values[1:] {
		if v != values[0] {
			return "", ErrKeyInvalid.WithDetail("the Idempotency-Key header is given %d times with different values", len(values))
		}
	}
	key := values[0]
	if key == "" {
		return "", ErrKeyInvalid.WithDetail("the Idempotency-Key header must not be empty: send a key, or no header")
	}
	if err := CheckKey(key); err != nil {
		return "", err
	}
	return key, nil
}

// CheckKey checks a key before it is used or stored, for Do and for an
// operation that keeps its keys itself: "" is no key and passes; any other key
// must be 1 to MaxKeyLength visible ASCII characters, 0x21 ('!') to 0x7E
// ('~'). That takes in UUIDs, random tokens and any reasonable key a client
// makes, and keeps out what Postgres refuses to store as text (invalid UTF-8,
// NUL), what a log or an operator cannot read back (controls, invisible or
// look-alike Unicode), and spaces, which HTTP strips from the ends of a
// header value and so would make " k" and "k" the same key.
func CheckKey(key string) error {
	for i := range len(key) {
		if b := key[i]; b < 0x21 || b > 0x7e {
			return ErrKeyInvalid.WithDetail("the Idempotency-Key header must be visible ASCII characters, '!' to '~': byte 0x%02X at offset %d is not", b, i)
		}
	}
	if len(key) > MaxKeyLength {
		return ErrKeyTooLong
	}
	return nil
}

// RequestHash identifies request for its key: the SHA-256, in hex, of its
// JSON. A retry must encode to the very same JSON, so request is the decoded
// request in a canonical form (fields in a fixed order, lists sorted where
// their order means nothing), never the raw body.
func RequestHash(request any) (string, error) {
	canonical, err := json.Marshal(request)
	if err != nil {
		return "", fmt.Errorf("idempotency: encode request: %w", err)
	}
	sum := sha256.Sum256(canonical)
	return hex.EncodeToString(sum[:]), nil
}

// Do runs effect in a transaction on db at most once per (scope, key), and
// returns its value. scope names the operation and its target
// ("deposit:<account id>"); request is as RequestHash takes it.
//
// The value's JSON is stored with the key, in effect's transaction. A retry
// with the same key and request gets the stored value decoded back, with
// replayed true, and effect does not run; so T must come back whole from its
// JSON. The same key with another request is problem.ErrIdempotencyMismatch.
// With an empty key, effect simply runs; a key CheckKey refuses is refused
// before anything runs, whoever read it. When effect fails, nothing is stored
// and the key stays free for a retry.
func Do[T any](ctx context.Context, db *database.DB, scope, key string, request any,
	effect func(tx *gorm.DB) (T, error)) (v T, replayed bool, err error) {
	if err := CheckKey(key); err != nil {
		return v, false, err
	}
	var hash string
	if key != "" {
		if hash, err = RequestHash(request); err != nil {
			return v, false, err
		}
	}
	err = db.Transact(ctx, func(tx *gorm.DB) error {
		if key != "" {
			claimed, err := claim(tx, scope, key, hash)
			if err != nil {
				return err
			}
			if !claimed {
				replayed = true
				return replay(tx, scope, key, hash, &v)
			}
		}
		var err error
		if v, err = effect(tx); err != nil || key == "" {
			return err
		}
		return store(tx, scope, key, v)
	})
	if err != nil {
		var zero T
		return zero, false, err
	}
	return v, replayed, nil
}

// claim records key for the request hash names, unless the key is taken:
// claimed is false then. A concurrent request with the same key waits here, on
// the primary key, until the first one commits or rolls back.
func claim(tx *gorm.DB, scope, key, hash string) (claimed bool, err error) {
	res := tx.Exec(`INSERT INTO idempotency_keys (scope, key, request_hash) VALUES (?, ?, ?)
		ON CONFLICT DO NOTHING`, scope, key, hash)
	if res.Error != nil {
		return false, fmt.Errorf("idempotency: claim key: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// store keeps the JSON of v with the key claimed in tx.
func store(tx *gorm.DB, scope, key string, v any) error {
	encoded, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("idempotency: encode result: %w", err)
	}
	if err := tx.Exec(`UPDATE idempotency_keys SET response = ? WHERE scope = ? AND key = ?`,
		encoded, scope, key).Error; err != nil {
		return fmt.Errorf("idempotency: store result: %w", err)
	}
	return nil
}

// replay decodes into v the result stored for (scope, key), unless the key
// was claimed for another request than the one hash names.
func replay(tx *gorm.DB, scope, key, hash string, v any) error {
	var stored struct {
		RequestHash string
		Response    []byte
	}
	if err := tx.Raw(`SELECT request_hash, response FROM idempotency_keys WHERE scope = ? AND key = ?`,
		scope, key).Scan(&stored).Error; err != nil {
		return fmt.Errorf("idempotency: read stored result: %w", err)
	}
	if stored.RequestHash != hash {
		return problem.ErrIdempotencyMismatch
	}
	if err := json.Unmarshal(stored.Response, v); err != nil {
		return fmt.Errorf("idempotency: decode the stored result of %s: %w", scope, err)
	}
	return nil
}
