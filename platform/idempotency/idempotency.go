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

// MaxKeyLength bounds a key, in bytes, since it is stored.
const MaxKeyLength = 255

// ErrKeyTooLong is returned for a key over MaxKeyLength.
var ErrKeyTooLong = problem.New(http.StatusBadRequest, "idempotency_key_invalid", "The Idempotency-Key header is invalid").
	WithDetail("at most %d characters", MaxKeyLength)

// CheckKey returns ErrKeyTooLong for a key over MaxKeyLength, for an operation
// that keeps its keys itself.
func CheckKey(key string) error {
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
// With an empty key, effect simply runs. When effect fails, nothing is stored
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
