// Package accounts is the contract of the accounts context: the interface other
// modules call, its DTOs and errors, and the table of its methods from which
// the HTTP client and server binding that carry it between processes derive. The accounts module implements it; nobody else
// sees the module.
package accounts

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/platform/problem"
)

// Name is the context's name: its module, schema and gateway.
const Name = "accounts"

// Accounts is what other modules may ask of the accounts context.
//
// A call made on a person's behalf (the ctx carries an identity.Person, which
// crosses processes with the call) touches only what that person may:
//
//   - Get and GetMany see the accounts the person owns, and any account
//     when the person is staff; other accounts are unknown (ErrAccountNotFound,
//     or left out of a batch).
//   - Debit and Credit move only the money of an account the person owns,
//     whatever their roles: staff never move money. Another account is
//     ErrAccountNotFound.
//
// A call with no person in its ctx is a module acting on its own authority
// (an event handler, a saga resumed after a crash, or a module that checked
// the person itself and called with identity.WithoutPerson) and may touch
// any account.
type Accounts interface {
	// Get returns one account, or ErrAccountNotFound.
	Get(ctx context.Context, id uuid.UUID) (Account, error)
	// GetMany returns the accounts that exist among ids, in the order of ids;
	// unknown ids are left out. At most MaxBatch ids.
	GetMany(ctx context.Context, ids []uuid.UUID) ([]Account, error)
	// Debit takes money from an account. The reference (an order id, say) makes
	// it idempotent: a second Debit with the same reference returns the first
	// transaction; with the same reference and another amount, ErrReferenceConflict.
	Debit(ctx context.Context, req Movement) (Transaction, error)
	// Credit gives money to an account, idempotent by reference like Debit.
	Credit(ctx context.Context, req Movement) (Transaction, error)
}

// MaxBatch bounds GetMany.
const MaxBatch = 500

// CheckBatch refuses more ids than GetMany takes; both sides of the wire ask
// it, so a batch too large never leaves the caller.
func CheckBatch(ids []uuid.UUID) error {
	if len(ids) > MaxBatch {
		return problem.Invalid(problem.Field("ids", fmt.Sprintf("at most %d ids", MaxBatch)))
	}
	return nil
}

// Account is an account as other contexts see it.
type Account struct {
	ID uuid.UUID `json:"id"`
	// Owner is the subject of the person who opened the account, the customer
	// it belongs to; "" for an account opened before people had tokens, which
	// belongs to nobody and is for staff alone to see.
	Owner        string    `json:"owner"`
	OwnerName    string    `json:"owner_name"`
	Email        string    `json:"email"`
	Currency     string    `json:"currency"`
	Balance      int64     `json:"balance"`
	Status       string    `json:"status"`
	ReferralCode string    `json:"referral_code"`
	CreatedAt    time.Time `json:"created_at"`
}

// Movement asks for a debit or a credit.
type Movement struct {
	AccountID uuid.UUID `json:"account_id"`
	Amount    int64     `json:"amount"`   // minor units, > 0
	Currency  string    `json:"currency"` // must be the account's
	Reference string    `json:"reference"`
}

// Transaction is one entry of an account's ledger.
type Transaction struct {
	ID           uuid.UUID `json:"id"`
	AccountID    uuid.UUID `json:"account_id"`
	Kind         string    `json:"kind"` // deposit, withdrawal, debit or credit
	Amount       int64     `json:"amount"`
	BalanceAfter int64     `json:"balance_after"`
	Reference    string    `json:"reference,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

// Transaction kinds.
const (
	KindDeposit    = "deposit"
	KindWithdrawal = "withdrawal"
	KindDebit      = "debit"
	KindCredit     = "credit"
)

// Errors of the accounts context. They cross HTTP as problem+json and come back
// as the same values, so callers use errors.Is whatever the transport.
var (
	ErrAccountNotFound   = problem.New(http.StatusNotFound, "account_not_found", "The account does not exist")
	ErrInsufficientFunds = problem.New(http.StatusConflict, "insufficient_funds", "The balance is too low")
	ErrCurrencyMismatch  = problem.New(http.StatusUnprocessableEntity, "currency_mismatch", "The currency is not the account's")
	ErrReferenceConflict = problem.New(http.StatusConflict, "reference_conflict", "The reference was already used for another movement")
	ErrBalanceLimit      = problem.New(http.StatusUnprocessableEntity, "balance_limit", "The balance would exceed its limit")
)
