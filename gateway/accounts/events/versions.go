package events

import (
	"time"

	"github.com/google/uuid"
)

// Money is an amount in minor units of its currency, which it carries with
// it: an amount cannot be read without the currency it counts.
type Money struct {
	Amount   int64  `json:"amount"`
	Currency string `json:"currency"`
}

// FundsDepositedV2 is published for every deposit, on
// accounts.funds_deposited.v2: the deposit and the balance after it are Money,
// where FundsDeposited has bare numbers and one currency beside them. A v1
// consumer reading "amount" as a number cannot read an object, hence the new
// version.
//
// accounts writes only this version; the relay publishes every deposit on
// accounts.funds_deposited.v1 as well, as Previous converts it, with the same
// message id, until no consumer reads v1 any more (`uberservice modules`
// says who still does). Then Previous and the v1 topic go.
type FundsDepositedV2 struct {
	TransactionID uuid.UUID `json:"transaction_id"`
	AccountID     uuid.UUID `json:"account_id"`
	Amount        Money     `json:"amount"`
	BalanceAfter  Money     `json:"balance_after"`
	Reference     string    `json:"reference,omitempty"`
	OccurredAt    time.Time `json:"occurred_at"`
}

// Topic implements messaging.Event.
func (FundsDepositedV2) Topic() string { return TopicFundsDepositedV2 }

// Previous is the deposit as v1 consumers read it (messaging.Versioned).
func (e FundsDepositedV2) Previous() interface{ Topic() string } {
	return FundsDeposited{Movement{
		TransactionID: e.TransactionID,
		AccountID:     e.AccountID,
		Amount:        e.Amount.Amount,
		Currency:      e.Amount.Currency,
		BalanceAfter:  e.BalanceAfter.Amount,
		Reference:     e.Reference,
		OccurredAt:    e.OccurredAt,
	}}
}

// DepositV2 is the FundsDepositedV2 of the movement m.
func DepositV2(m Movement) FundsDepositedV2 {
	return FundsDepositedV2{
		TransactionID: m.TransactionID,
		AccountID:     m.AccountID,
		Amount:        Money{Amount: m.Amount, Currency: m.Currency},
		BalanceAfter:  Money{Amount: m.BalanceAfter, Currency: m.Currency},
		Reference:     m.Reference,
		OccurredAt:    m.OccurredAt,
	}
}
