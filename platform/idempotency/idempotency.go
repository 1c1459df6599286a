// Package idempotency makes a POST that moves money or stock safe to retry: the
// first response to a key is stored in the same transaction as its effect, and a
// retry with the same key and body gets that response again with no second
// effect.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/problem"
)

// Header is the request header that carries the key.
const Header = "Idempotency-Key"

// MaxKeyLength bounds a key, which is stored.
const MaxKeyLength = 255

// ErrKeyTooLong is returned for a key over MaxKeyLength.
var ErrKeyTooLong = problem.New(400, "idempotency_key_invalid", "The Idempotency-Key header is invalid").
	WithDetail("at most %d characters", MaxKeyLength)

// Result is a stored response.
type Result struct {
	Status   int
	Body     []byte
	Replayed bool // true when this is the stored answer to an earlier request
}

// Do runs effect in a transaction on db at most once per (scope, key). scope
// names the operation and its target ("deposit:<account id>"); request is the
// decoded request, whose canonical JSON tells a retry from a different request.
// With an empty key, effect simply runs. When effect fails, nothing is stored
// and the key stays free.
func Do(ctx context.Context, db *database.DB, scope, key string, request any,
	effect func(tx *gorm.DB) (status int, body any, err error)) (Result, error) {
	if len(key) > MaxKeyLength {
		return Result{}, ErrKeyTooLong
	}
	var res Result
	err := db.Transact(ctx, func(tx *gorm.DB) error {
		if key != "" {
			canonical, err := json.Marshal(request)
			if err != nil {
				return fmt.Errorf("idempotency: encode request: %w", err)
			}
			sum := sha256.Sum256(canonical)
			hash := hex.EncodeToString(sum[:])
			// A concurrent request with the same key waits here on the unique index
			// until the first one commits or rolls back.
			ins := tx.Exec(`INSERT INTO idempotency_keys (scope, key, request_hash) VALUES (?, ?, ?)
				ON CONFLICT DO NOTHING`, scope, key, hash)
			if ins.Error != nil {
				return fmt.Errorf("idempotency: claim key: %w", ins.Error)
			}
			if ins.RowsAffected == 0 {
				var stored struct {
					RequestHash string
					StatusCode  int
					Response    []byte
				}
				if err := tx.Raw(`SELECT request_hash, status_code, response FROM idempotency_keys
					WHERE scope = ? AND key = ?`, scope, key).Scan(&stored).Error; err != nil {
					return fmt.Errorf("idempotency: read stored response: %w", err)
				}
				if stored.RequestHash != hash {
					return problem.ErrIdempotencyMismatch
				}
				res = Result{Status: stored.StatusCode, Body: stored.Response, Replayed: true}
				return nil
			}
		}
		status, body, err := effect(tx)
		if err != nil {
			return err
		}
		encoded, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("idempotency: encode response: %w", err)
		}
		res = Result{Status: status, Body: encoded}
		if key == "" {
			return nil
		}
		return tx.Exec(`UPDATE idempotency_keys SET status_code = ?, response = ? WHERE scope = ? AND key = ?`,
			status, encoded, scope, key).Error
	})
	return res, err
}
