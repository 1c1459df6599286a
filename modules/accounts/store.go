package accounts

import (
	"database/sql"
	"errors"
	"fmt"
	"math"

	"github.com/google/uuid"
	"gorm.io/gorm"

	gateway "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/page"
	"github.com/uberservice/uberservice/platform/problem"
)

// The store is plain SQL on a *gorm.DB that already carries the request's
// context and, for writes, the transaction they belong to. It knows tables,
// not rules: the service decides what a missing row means.

const accountColumns = `id, owner, owner_name, email, currency, balance, status, referral_code, created_at`

const transactionColumns = `id, account_id, kind, amount, balance_after, COALESCE(reference, '') AS reference, created_at`

func insertAccount(db *gorm.DB, a *gateway.Account) error {
	err := db.Raw(`INSERT INTO accounts (id, owner, owner_name, email, currency, balance, status, referral_code)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING created_at`,
		a.ID, a.Owner, a.OwnerName, a.Email, a.Currency, a.Balance, a.Status, a.ReferralCode).Row().Scan(&a.CreatedAt)
	if err != nil {
		return fmt.Errorf("insert account: %w", err)
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return nil
}

// findAccount returns the account id, or found false.
func findAccount(db *gorm.DB, id uuid.UUID) (a gateway.Account, found bool, err error) {
	// database.QueryRow, not gorm's Scan: a saga asks for every order's
	// account, and gorm's reflection was most of the read's cost.
	err = database.QueryRow(db, `SELECT `+accountColumns+` FROM accounts WHERE id = $1`, []any{id},
		&a.ID, &a.Owner, &a.OwnerName, &a.Email, &a.Currency, &a.Balance, &a.Status, &a.ReferralCode, &a.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return gateway.Account{}, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("read account: %w", err)
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return a, true, nil
}

// findAccounts returns the accounts among ids, in no particular order.
func findAccounts(db *gorm.DB, ids []uuid.UUID) ([]gateway.Account, error) {
	var out []gateway.Account
	if err := db.Raw(`SELECT `+accountColumns+` FROM accounts WHERE id IN ?`, ids).Scan(&out).Error; err != nil {
		return nil, fmt.Errorf("read accounts: %w", err)
	}
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
	}
	return out, nil
}

// accountOwner returns the owner of account id, or found false: all that
// the rules of who may touch an account ask of it.
func accountOwner(db *gorm.DB, id uuid.UUID) (owner string, found bool, err error) {
	err = db.Raw(`SELECT owner FROM accounts WHERE id = ?`, id).Row().Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("look up account: %w", err)
	}
	return owner, true, nil
}

// lockAccount reads the account id and locks its row until the transaction
// ends, so that nothing else moves its money meanwhile.
func lockAccount(db *gorm.DB, id uuid.UUID) (a gateway.Account, found bool, err error) {
	// database.QueryRow: first in a movement's transaction, it carries the BEGIN.
	err = database.QueryRow(db, `SELECT `+accountColumns+` FROM accounts WHERE id = $1 FOR UPDATE`, []any{id},
		&a.ID, &a.Owner, &a.OwnerName, &a.Email, &a.Currency, &a.Balance, &a.Status, &a.ReferralCode, &a.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return gateway.Account{}, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("lock account: %w", err)
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return a, true, nil
}

// applyMovement adds delta (negative to take money out) to the balance of
// t.AccountID and writes t to the ledger with the balance after it, in one
// statement: one round trip to the database where two would do, on the path
// every deposit takes. It returns the account as it is afterwards and sets
// t.BalanceAfter and t.CreatedAt. module is the module whose reference t
// carries, "" for a movement with none. owner, unless "", is the only owner
// whose account moves: the person on whose behalf the movement is.
//
// The condition on the UPDATE is the whole concurrency story: the balance
// neither goes below zero nor overflows, however many movements race, because
// Postgres applies each UPDATE to the latest committed row, and the ledger row
// is written under the row lock the UPDATE took. ok is false, and nothing is
// written, when the condition failed, the account is someone else's or does
// not exist; the caller tells which.
func applyMovement(db *gorm.DB, t *gateway.Transaction, module, owner string, delta int64) (a gateway.Account, ok bool, err error) {
	var ref *string
	if t.Reference != "" {
		ref = &t.Reference
	}
	cond, bound := `balance <= $3`, math.MaxInt64-delta
	if delta < 0 {
		cond, bound = `balance >= $3`, -delta
	}
	// owner "" is anyone's account; an account with no owner is no person's.
	cond += ` AND ($4 = '' OR owner = $5)`
	// database.QueryRow, not gorm's Scan, which renders every statement with
	// its arguments for a logger even when nothing logs; and, first in a
	// deposit's transaction, it carries the BEGIN: measurable on this path.
	err = database.QueryRow(db, `WITH moved AS (
			UPDATE accounts SET balance = balance + $1 WHERE id = $2 AND `+cond+`
			RETURNING `+accountColumns+`
		), ledger AS (
			INSERT INTO transactions (id, account_id, kind, amount, balance_after, reference, reference_owner)
			SELECT $6, id, $7, $8, balance, $9, $10 FROM moved
			RETURNING created_at
		)
		SELECT moved.*, ledger.created_at FROM moved, ledger`,
		[]any{delta, t.AccountID, bound, owner, owner, t.ID, t.Kind, t.Amount, ref, module},
		&a.ID, &a.Owner, &a.OwnerName, &a.Email, &a.Currency, &a.Balance, &a.Status, &a.ReferralCode, &a.CreatedAt, &t.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return gateway.Account{}, false, nil
	}
	if err != nil {
		return gateway.Account{}, false, fmt.Errorf("apply %s: %w", t.Kind, err)
	}
	a.CreatedAt = a.CreatedAt.UTC()
	t.CreatedAt = t.CreatedAt.UTC()
	t.BalanceAfter = a.Balance
	return a, true, nil
}

// transactionByReference returns the kind movement of account with reference,
// given by module, or found false. A reference given before movements had
// owners has the empty owner, and counts as module's.
//
// Two lookups of the unique index, one per owner, and not one condition
// on reference_owner for both owners: the index's columns put the owner before
// the reference, and Postgres would read every kind movement of the account
// to filter on both, a read that grows with the ledger (3 ms per debit at
// 3,000 debits of one account, against 0.2 ms).
func transactionByReference(db *gorm.DB, account uuid.UUID, kind, module, reference string) (t gateway.Transaction, found bool, err error) {
	one := `SELECT ` + transactionColumns + `, reference_owner = '' AS legacy FROM transactions
		WHERE account_id = $1 AND kind = $2 AND reference = $3 AND reference_owner = `
	err = database.QueryRow(db, `SELECT id, account_id, kind, amount, balance_after, reference, created_at FROM (
			(`+one+`$4) UNION ALL (`+one+`'')
		) AS found ORDER BY legacy LIMIT 1`, []any{account, kind, reference, module},
		&t.ID, &t.AccountID, &t.Kind, &t.Amount, &t.BalanceAfter, &t.Reference, &t.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return gateway.Transaction{}, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("read %s %q: %w", kind, reference, err)
	}
	t.CreatedAt = t.CreatedAt.UTC()
	return t, true, nil
}

// ledgerOrder is the order of an account's ledger: its position, seq, which
// orders an account's movements exactly as they happened (see the
// migration), newest first.
var ledgerOrder = page.NewKeyset("accounts.transactions", page.Int("seq"))

// ledgerEntry is a transaction with its position in the ledger, which pages
// it and is no business of the contract's.
type ledgerEntry struct {
	gateway.Transaction
	Seq int64
}

// listTransactions returns one page of the ledger of account, newest first.
func listTransactions(db *gorm.DB, account uuid.UUID, req page.Request) (page.Page[gateway.Transaction], error) {
	q := db.Table("transactions").Select(transactionColumns+", seq").Where("account_id = ?", account)
	p, err := page.Find(q, ledgerOrder, req, func(e ledgerEntry) []any { return []any{e.Seq} })
	if err != nil {
		return page.Page[gateway.Transaction]{}, problem.Wrapf(err, "list transactions")
	}
	return page.Map(p, func(e ledgerEntry) gateway.Transaction {
		e.CreatedAt = e.CreatedAt.UTC()
		return e.Transaction
	}), nil
}
