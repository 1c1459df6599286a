package accounts

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"

	gateway "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/gateway/accounts/events"
	"github.com/uberservice/uberservice/platform/contract"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/idempotency"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/mail"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/money"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/validate"
)

// MaxAmount is the largest amount a single movement may carry, in minor units
// (1e15: ten trillion dollars in cents). Anything larger is a mistake, not a
// payment, and the bound keeps balance arithmetic far from int64 overflow.
const MaxAmount int64 = 1_000_000_000_000_000

// maxReference bounds the reference of a movement another context asks for,
// in characters.
const maxReference = 255

// Deposit puts amount into account id for its owner, the customer in ctx,
// and returns the ledger entry. key is the request's Idempotency-Key,
// possibly empty: the entry is stored with the key, so a retry with the same
// key gets it again (replayed true) and moves nothing.
func (s *service) Deposit(ctx context.Context, id uuid.UUID, amount int64, key string) (t gateway.Transaction, replayed bool, err error) {
	return s.moveForOwner(ctx, deposit, id, amount, key)
}

// Withdraw takes amount out of account id for its owner, like Deposit.
func (s *service) Withdraw(ctx context.Context, id uuid.UUID, amount int64, key string) (t gateway.Transaction, replayed bool, err error) {
	return s.moveForOwner(ctx, withdrawal, id, amount, key)
}

func (s *service) moveForOwner(ctx context.Context, k kind, id uuid.UUID, amount int64, key string) (gateway.Transaction, bool, error) {
	if err := identity.Require(ctx, moving...); err != nil {
		return gateway.Transaction{}, false, err
	}
	var v problem.Violations
	validate.Positive(&v, "amount", amount, MaxAmount)
	if err := v.Err(); err != nil {
		return gateway.Transaction{}, false, err
	}
	// Before the key is looked at: a key replays its answer to whoever sends
	// it, so someone else's account must be unknown first. An account's owner
	// never changes, so this holds for the transaction that follows. Without
	// a key, the movement itself checks the owner (move), a round trip less.
	if key != "" {
		if err := mayTouch(ctx, s.db.WithContext(ctx), id, mayMove); err != nil {
			return gateway.Transaction{}, false, problem.Wrapf(err, "accounts: %s", k.name)
		}
	}
	// The request as the key remembers it: a retry must ask for the same amount.
	request := struct {
		Amount int64 `json:"amount"`
	}{amount}
	if key == "" && !k.out {
		// A deposit without a key reads only through QueryRow and writes
		// only its own account's row, then defers the rest: it may share
		// its commit with the deposits arriving with it (database.Grouped).
		// A movement out may be refused, which would send its group back to
		// run alone; a key's claim and replay read rows.
		ctx = database.Grouped(ctx, id.String())
	}
	t, replayed, err := idempotency.Do(ctx, s.db, k.name+":"+id.String(), key, request,
		func(tx *gorm.DB) (gateway.Transaction, error) {
			return s.move(ctx, tx, k, id, amount, "", "")
		})
	if err != nil {
		return gateway.Transaction{}, false, problem.Wrapf(err, "accounts: %s", k.name)
	}
	return t, replayed, nil
}

// Debit implements gateway.Accounts.
func (s *service) Debit(ctx context.Context, req gateway.Movement) (gateway.Transaction, error) {
	return s.moveByReference(ctx, debit, req)
}

// Credit implements gateway.Accounts.
func (s *service) Credit(ctx context.Context, req gateway.Movement) (gateway.Transaction, error) {
	return s.moveByReference(ctx, credit, req)
}

// moveByReference applies a movement another context asks for, once per
// reference. The account's row is locked first: that serializes every
// movement of the account, so the reference lookup that follows sees any
// concurrent movement with the same reference that committed before, and two
// racing callers get one effect and the same transaction. The unique
// constraint on (account_id, kind, reference_owner, reference) is the
// database's guarantee of the same rule. A reference is the calling module's
// (contract.CallingModule). On a person's behalf, only the person's own
// account moves; another is not found.
func (s *service) moveByReference(ctx context.Context, k kind, req gateway.Movement) (gateway.Transaction, error) {
	var v problem.Violations
	validate.Positive(&v, "amount", req.Amount, MaxAmount)
	validate.Currency(&v, "currency", req.Currency)
	validate.RequiredText(&v, "reference", req.Reference, maxReference)
	if err := v.Err(); err != nil {
		return gateway.Transaction{}, err
	}
	// The reference is the calling module's: another module's movement with
	// the same reference is another movement, and cannot pre-empt this one.
	module := contract.CallingModule(ctx)
	var t gateway.Transaction
	// Every statement below is a QueryRow or deferred, and only the
	// account's row is locked: the movement may commit in a group.
	err := s.db.Transact(database.Grouped(ctx, req.AccountID.String()), func(tx *gorm.DB) error {
		a, found, err := lockAccount(tx, req.AccountID)
		if err != nil {
			return err
		}
		if !found || !mayMove(ctx, a.Owner) {
			return notFound(req.AccountID)
		}
		if a.Currency != req.Currency {
			return gateway.ErrCurrencyMismatch.WithDetail("account %s is in %s, not %s", a.ID, a.Currency, req.Currency)
		}
		prev, found, err := transactionByReference(tx, a.ID, k.name, module, req.Reference)
		if err != nil {
			return err
		}
		if found {
			if prev.Amount != req.Amount {
				return gateway.ErrReferenceConflict.WithDetail("%s %q was for %d, not %d", k.name, req.Reference, prev.Amount, req.Amount)
			}
			t = prev
			return nil
		}
		t, err = s.move(ctx, tx, k, a.ID, req.Amount, module, req.Reference)
		return err
	})
	if err != nil {
		return gateway.Transaction{}, problem.Wrapf(err, "accounts: %s", k.name)
	}
	return t, nil
}

// kind is a kind of movement: which way the money goes, the event that tells
// of it and the email, if any, that confirms it to the owner.
type kind struct {
	name  string
	out   bool // takes money out of the account
	event func(events.Movement) messaging.Event
	email func(a gateway.Account, t gateway.Transaction) mail.Message // nil: none
}

var (
	deposit = kind{
		name:  gateway.KindDeposit,
		event: func(m events.Movement) messaging.Event { return events.DepositV2(m) },
		email: func(a gateway.Account, t gateway.Transaction) mail.Message {
			return confirmation(a, "Deposit received", "We received your deposit of %s.", t)
		},
	}
	withdrawal = kind{
		name:  gateway.KindWithdrawal,
		out:   true,
		event: func(m events.Movement) messaging.Event { return events.FundsWithdrawn{Movement: m} },
		email: func(a gateway.Account, t gateway.Transaction) mail.Message {
			return confirmation(a, "Withdrawal confirmed", "Your withdrawal of %s is on its way.", t)
		},
	}
	debit = kind{
		name:  gateway.KindDebit,
		out:   true,
		event: func(m events.Movement) messaging.Event { return events.AccountDebited{Movement: m} },
	}
	credit = kind{
		name:  gateway.KindCredit,
		event: func(m events.Movement) messaging.Event { return events.AccountCredited{Movement: m} },
	}
)

// move applies one movement inside tx: the balance, the ledger entry, the
// event and the owner's email commit together or not at all.
func (s *service) move(ctx context.Context, tx *gorm.DB, k kind, id uuid.UUID, amount int64, module, reference string) (gateway.Transaction, error) {
	delta := amount
	if k.out {
		delta = -amount
	}
	txID, err := uuid.NewV7()
	if err != nil {
		return gateway.Transaction{}, fmt.Errorf("new transaction id: %w", err)
	}
	t := gateway.Transaction{ID: txID, AccountID: id, Kind: k.name, Amount: amount, Reference: reference}
	// On a person's behalf, only their own account moves: the condition is
	// part of the UPDATE, and only a movement that did not happen asks why.
	var owner string
	if p, ok := identity.PersonFrom(ctx); ok {
		owner = p.Subject
	}
	a, ok, err := applyMovement(tx, &t, module, owner, delta)
	if err != nil {
		return gateway.Transaction{}, err
	}
	if !ok {
		actual, exists, err := accountOwner(tx, id)
		switch {
		case err != nil:
			return gateway.Transaction{}, err
		case !exists || !mayMove(ctx, actual):
			return gateway.Transaction{}, notFound(id)
		case k.out:
			return gateway.Transaction{}, gateway.ErrInsufficientFunds.WithDetail("account %s cannot pay %d", id, amount)
		default:
			return gateway.Transaction{}, gateway.ErrBalanceLimit.WithDetail("account %s cannot take %d more", id, amount)
		}
	}
	err = s.outbox.Publish(ctx, tx, k.event(events.Movement{
		TransactionID: t.ID,
		AccountID:     t.AccountID,
		Amount:        t.Amount,
		Currency:      a.Currency,
		BalanceAfter:  t.BalanceAfter,
		Reference:     t.Reference,
		OccurredAt:    t.CreatedAt,
	}))
	if err != nil {
		return gateway.Transaction{}, err
	}
	if k.email != nil {
		if err := mail.Enqueue(ctx, tx, id.String(), k.email(a, t)); err != nil {
			return gateway.Transaction{}, err
		}
	}
	return t, nil
}

// confirmation is the email that confirms movement t to the owner of a.
func confirmation(a gateway.Account, subject, what string, t gateway.Transaction) mail.Message {
	body := fmt.Sprintf("Hello %s,\n\n%s\nYour balance is now %s.\n\nTransaction %s, account %s.\n",
		a.OwnerName, fmt.Sprintf(what, money.Format(t.Amount, a.Currency)), money.Format(t.BalanceAfter, a.Currency), t.ID, a.ID)
	return mail.Message{To: a.Email, Subject: subject, Body: body}
}
