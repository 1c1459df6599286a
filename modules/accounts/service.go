package accounts

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"gorm.io/gorm"

	gateway "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/gateway/accounts/events"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/idempotency"
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

// Limits on what an account stores.
const (
	maxOwnerName    = 200
	maxReferralCode = 64
	maxReference    = 255
)

const statusActive = "active"

// service is the application layer of the accounts context: every rule lives
// here, between the HTTP handlers and the store. It is also the local
// implementation of the accounts gateway, so other modules in this process get
// the very same behaviour as those calling over HTTP.
type service struct {
	db *database.DB
}

var _ gateway.Accounts = (*service)(nil)

// OpenAccount asks for a new account.
type OpenAccount struct {
	OwnerName    string `json:"owner_name"`
	Email        string `json:"email"`
	Currency     string `json:"currency"`
	ReferralCode string `json:"referral_code"`
}

// normalize applies defaults and checks every field, reporting all the
// invalid ones at once.
func (r *OpenAccount) normalize() error {
	r.OwnerName = strings.TrimSpace(r.OwnerName)
	if r.Currency == "" {
		r.Currency = money.DefaultCurrency
	}
	var v problem.Violations
	validate.RequiredText(&v, "owner_name", r.OwnerName, maxOwnerName)
	if !mail.ValidAddress(r.Email) {
		v.Add("email", "must be a plain email address such as name@example.com")
	}
	validate.Currency(&v, "currency", r.Currency)
	validate.Text(&v, "referral_code", r.ReferralCode, maxReferralCode)
	return v.Err()
}

// Open opens an account with a zero balance and announces it.
func (s *service) Open(ctx context.Context, req OpenAccount) (gateway.Account, error) {
	if err := req.normalize(); err != nil {
		return gateway.Account{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return gateway.Account{}, fmt.Errorf("accounts: open: new id: %w", err)
	}
	a := gateway.Account{
		ID:           id,
		OwnerName:    req.OwnerName,
		Email:        req.Email,
		Currency:     req.Currency,
		Status:       statusActive,
		ReferralCode: req.ReferralCode,
	}
	err = s.db.Transact(ctx, func(tx *gorm.DB) error {
		if err := insertAccount(tx, &a); err != nil {
			return err
		}
		return messaging.Publish(ctx, tx, events.AccountCreated{
			AccountID:    a.ID,
			OwnerName:    a.OwnerName,
			Email:        a.Email,
			Currency:     a.Currency,
			ReferralCode: a.ReferralCode,
			CreatedAt:    a.CreatedAt,
		})
	})
	if err != nil {
		return gateway.Account{}, problem.Wrapf(err, "accounts: open")
	}
	return a, nil
}

// Get implements gateway.Accounts.
func (s *service) Get(ctx context.Context, id uuid.UUID) (gateway.Account, error) {
	a, found, err := findAccount(s.db.WithContext(ctx), id)
	if err != nil {
		return gateway.Account{}, problem.Wrapf(err, "accounts: get")
	}
	if !found {
		return gateway.Account{}, notFound(id)
	}
	return a, nil
}

// GetMany implements gateway.Accounts. One query answers the whole batch; an
// id given twice is answered twice, so the result lines up with the input.
func (s *service) GetMany(ctx context.Context, ids []uuid.UUID) ([]gateway.Account, error) {
	if len(ids) > gateway.MaxBatch {
		return nil, problem.Invalid(problem.Field("ids", fmt.Sprintf("at most %d ids", gateway.MaxBatch)))
	}
	out := []gateway.Account{}
	if len(ids) == 0 {
		return out, nil
	}
	found, err := findAccounts(s.db.WithContext(ctx), ids)
	if err != nil {
		return nil, problem.Wrapf(err, "accounts: get many")
	}
	byID := make(map[uuid.UUID]gateway.Account, len(found))
	for _, a := range found {
		byID[a.ID] = a
	}
	for _, id := range ids {
		if a, ok := byID[id]; ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// Deposit puts amount into account id for its owner and returns the ledger
// entry. key is the request's Idempotency-Key, possibly empty: the entry is
// stored with the key, so a retry with the same key gets it again (replayed
// true) and moves nothing.
func (s *service) Deposit(ctx context.Context, id uuid.UUID, amount int64, key string) (t gateway.Transaction, replayed bool, err error) {
	return s.moveForOwner(ctx, deposit, id, amount, key)
}

// Withdraw takes amount out of account id for its owner, like Deposit.
func (s *service) Withdraw(ctx context.Context, id uuid.UUID, amount int64, key string) (t gateway.Transaction, replayed bool, err error) {
	return s.moveForOwner(ctx, withdrawal, id, amount, key)
}

func (s *service) moveForOwner(ctx context.Context, k kind, id uuid.UUID, amount int64, key string) (gateway.Transaction, bool, error) {
	var v problem.Violations
	validate.Positive(&v, "amount", amount, MaxAmount)
	if err := v.Err(); err != nil {
		return gateway.Transaction{}, false, err
	}
	// The request as the key remembers it: a retry must ask for the same amount.
	request := struct {
		Amount int64 `json:"amount"`
	}{amount}
	t, replayed, err := idempotency.Do(ctx, s.db, k.name+":"+id.String(), key, request,
		func(tx *gorm.DB) (gateway.Transaction, error) {
			return move(ctx, tx, k, id, amount, "")
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
// constraint on (account_id, kind, reference) is the database's guarantee of
// the same rule.
func (s *service) moveByReference(ctx context.Context, k kind, req gateway.Movement) (gateway.Transaction, error) {
	var v problem.Violations
	validate.Positive(&v, "amount", req.Amount, MaxAmount)
	validate.Currency(&v, "currency", req.Currency)
	switch {
	case req.Reference == "":
		v.Add("reference", "is required")
	case len(req.Reference) > maxReference:
		v.Add("reference", fmt.Sprintf("must be at most %d bytes", maxReference))
	case validate.HasControl(req.Reference):
		v.Add("reference", "must not contain control characters")
	}
	if err := v.Err(); err != nil {
		return gateway.Transaction{}, err
	}
	var t gateway.Transaction
	err := s.db.Transact(ctx, func(tx *gorm.DB) error {
		a, found, err := lockAccount(tx, req.AccountID)
		if err != nil {
			return err
		}
		if !found {
			return notFound(req.AccountID)
		}
		if a.Currency != req.Currency {
			return gateway.ErrCurrencyMismatch.WithDetail("account %s is in %s, not %s", a.ID, a.Currency, req.Currency)
		}
		prev, found, err := transactionByReference(tx, a.ID, k.name, req.Reference)
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
		t, err = move(ctx, tx, k, a.ID, req.Amount, req.Reference)
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
		event: func(m events.Movement) messaging.Event { return events.FundsDeposited{Movement: m} },
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
func move(ctx context.Context, tx *gorm.DB, k kind, id uuid.UUID, amount int64, reference string) (gateway.Transaction, error) {
	delta := amount
	if k.out {
		delta = -amount
	}
	txID, err := uuid.NewV7()
	if err != nil {
		return gateway.Transaction{}, fmt.Errorf("new transaction id: %w", err)
	}
	t := gateway.Transaction{ID: txID, AccountID: id, Kind: k.name, Amount: amount, Reference: reference}
	a, ok, err := applyMovement(tx, &t, delta)
	if err != nil {
		return gateway.Transaction{}, err
	}
	if !ok {
		exists, err := accountExists(tx, id)
		switch {
		case err != nil:
			return gateway.Transaction{}, err
		case !exists:
			return gateway.Transaction{}, notFound(id)
		case k.out:
			return gateway.Transaction{}, gateway.ErrInsufficientFunds.WithDetail("account %s cannot pay %d", id, amount)
		default:
			return gateway.Transaction{}, gateway.ErrBalanceLimit.WithDetail("account %s cannot take %d more", id, amount)
		}
	}
	err = messaging.Publish(ctx, tx, k.event(events.Movement{
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

// Transactions returns the ledger of account id, newest first.
func (s *service) Transactions(ctx context.Context, id uuid.UUID) ([]gateway.Transaction, error) {
	db := s.db.WithContext(ctx)
	if err := mustExist(db, id); err != nil {
		return nil, problem.Wrapf(err, "accounts: transactions")
	}
	out, err := listTransactions(db, id)
	if err != nil {
		return nil, problem.Wrapf(err, "accounts: transactions")
	}
	return out, nil
}

// Notifications returns the emails sent to the owner of account id, newest
// first.
func (s *service) Notifications(ctx context.Context, id uuid.UUID) ([]mail.Notification, error) {
	if err := mustExist(s.db.WithContext(ctx), id); err != nil {
		return nil, problem.Wrapf(err, "accounts: notifications")
	}
	out, err := mail.List(ctx, s.db.DB, id.String())
	if err != nil {
		return nil, problem.Wrapf(err, "accounts: notifications")
	}
	return out, nil
}

func mustExist(db *gorm.DB, id uuid.UUID) error {
	exists, err := accountExists(db, id)
	if err != nil {
		return err
	}
	if !exists {
		return notFound(id)
	}
	return nil
}

func notFound(id uuid.UUID) error {
	return gateway.ErrAccountNotFound.WithDetail("no account %s", id)
}

// confirmation is the email that confirms movement t to the owner of a.
func confirmation(a gateway.Account, subject, what string, t gateway.Transaction) mail.Message {
	body := fmt.Sprintf("Hello %s,\n\n%s\nYour balance is now %s.\n\nTransaction %s, account %s.\n",
		a.OwnerName, fmt.Sprintf(what, money.Format(t.Amount, a.Currency)), money.Format(t.BalanceAfter, a.Currency), t.ID, a.ID)
	return mail.Message{To: a.Email, Subject: subject, Body: body}
}
