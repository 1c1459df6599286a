// Package events holds the events the accounts context publishes. Consuming them
// is a dependency of its own, separate from calling the accounts gateway, which
// is why they live in their own package.
package events

import (
	"time"

	"github.com/google/uuid"
)

// Topics, versioned: a change that breaks consumers gets a new version.
const (
	TopicAccountCreated = "accounts.account_created.v1"
	TopicFundsDeposited = "accounts.funds_deposited.v1"
	// TopicFundsDepositedV2 is the second version of funds_deposited (see
	// FundsDepositedV2); the first is published beside it until no
	// consumer reads it.
	TopicFundsDepositedV2 = "accounts.funds_deposited.v2"
	TopicFundsWithdrawn   = "accounts.funds_withdrawn.v1"
	TopicAccountDebited   = "accounts.account_debited.v1"
	TopicAccountCredited  = "accounts.account_credited.v1"
)

// All lists every topic the context publishes.
var All = []string{TopicAccountCreated, TopicFundsDeposited, TopicFundsDepositedV2, TopicFundsWithdrawn, TopicAccountDebited, TopicAccountCredited}

// Payloads lists one value of each event the context publishes, in the order
// of All: the module declares them (app.Module.Payloads) so that its events'
// fields are documented.
var Payloads = []interface{ Topic() string }{AccountCreated{}, FundsDeposited{}, FundsDepositedV2{}, FundsWithdrawn{}, AccountDebited{}, AccountCredited{}}

// AccountCreated is published when an account is opened.
type AccountCreated struct {
	AccountID    uuid.UUID `json:"account_id"`
	OwnerName    string    `json:"owner_name"`
	Email        string    `json:"email"`
	Currency     string    `json:"currency"`
	ReferralCode string    `json:"referral_code"`
	CreatedAt    time.Time `json:"created_at"`
}

// Topic implements messaging.Event.
func (AccountCreated) Topic() string { return TopicAccountCreated }

// Movement is the payload shared by every money movement event.
type Movement struct {
	TransactionID uuid.UUID `json:"transaction_id"`
	AccountID     uuid.UUID `json:"account_id"`
	Amount        int64     `json:"amount"`
	Currency      string    `json:"currency"`
	BalanceAfter  int64     `json:"balance_after"`
	Reference     string    `json:"reference,omitempty"`
	OccurredAt    time.Time `json:"occurred_at"`
}

// FundsDeposited is published for every deposit.
type FundsDeposited struct{ Movement }

// Topic implements messaging.Event.
func (FundsDeposited) Topic() string { return TopicFundsDeposited }

// FundsWithdrawn is published for every withdrawal.
type FundsWithdrawn struct{ Movement }

// Topic implements messaging.Event.
func (FundsWithdrawn) Topic() string { return TopicFundsWithdrawn }

// AccountDebited is published for every debit by another context.
type AccountDebited struct{ Movement }

// Topic implements messaging.Event.
func (AccountDebited) Topic() string { return TopicAccountDebited }

// AccountCredited is published for every credit by another context.
type AccountCredited struct{ Movement }

// Topic implements messaging.Event.
func (AccountCredited) Topic() string { return TopicAccountCredited }
