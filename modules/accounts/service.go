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
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/mail"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/money"
	"github.com/uberservice/uberservice/platform/page"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/validate"
)

// Limits on what an account stores.
const (
	maxOwnerName    = 200
	maxReferralCode = 64
)

const statusActive = "active"

// service is the application layer of the accounts context: every rule lives
// here, between the HTTP handlers and the store. It is also the local
// implementation of the accounts gateway, so other modules in this process get
// the very same behaviour as those calling over HTTP.
type service struct {
	db     *database.DB
	outbox *messaging.Outbox
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
	if validate.RequiredText(&v, "email", r.Email, mail.MaxAddressLength) && !mail.ValidAddress(r.Email) {
		v.Add("email", "must be a plain email address such as name@example.com")
	}
	validate.Currency(&v, "currency", r.Currency)
	validate.Text(&v, "referral_code", r.ReferralCode, maxReferralCode)
	return v.Err()
}

// Open opens an account with a zero balance for the customer in ctx, who
// owns it, and announces it.
func (s *service) Open(ctx context.Context, req OpenAccount) (gateway.Account, error) {
	if err := identity.Require(ctx, opening...); err != nil {
		return gateway.Account{}, err
	}
	if err := req.normalize(); err != nil {
		return gateway.Account{}, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return gateway.Account{}, fmt.Errorf("accounts: open: new id: %w", err)
	}
	a := gateway.Account{
		ID:           id,
		Owner:        ownerFor(ctx),
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
		return s.outbox.Publish(ctx, tx, events.AccountCreated{
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

// Account returns account id to the person in ctx, who must be its owner or
// staff: the public API's read of an account.
func (s *service) Account(ctx context.Context, id uuid.UUID) (gateway.Account, error) {
	if err := identity.Require(ctx, reading...); err != nil {
		return gateway.Account{}, err
	}
	return s.Get(ctx, id)
}

// Get implements gateway.Accounts: an account the person in ctx, if any, may
// not see is not found.
func (s *service) Get(ctx context.Context, id uuid.UUID) (gateway.Account, error) {
	a, found, err := findAccount(s.db.WithContext(ctx), id)
	if err != nil {
		return gateway.Account{}, problem.Wrapf(err, "accounts: get")
	}
	if !found || !mayRead(ctx, a.Owner) {
		return gateway.Account{}, notFound(id)
	}
	return a, nil
}

// GetMany implements gateway.Accounts. One query answers the whole batch; an
// id given twice is answered twice, so the result lines up with the input.
// The accounts the person in ctx, if any, may not see are left out, as
// unknown ids are.
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
		if mayRead(ctx, a.Owner) {
			byID[a.ID] = a
		}
	}
	for _, id := range ids {
		if a, ok := byID[id]; ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// Transactions returns one page of the ledger of account id, newest first, to
// its owner or staff.
func (s *service) Transactions(ctx context.Context, id uuid.UUID, req page.Request) (page.Page[gateway.Transaction], error) {
	if err := identity.Require(ctx, reading...); err != nil {
		return page.Page[gateway.Transaction]{}, err
	}
	db := s.db.WithContext(ctx)
	if err := mayTouch(ctx, db, id, mayRead); err != nil {
		return page.Page[gateway.Transaction]{}, problem.Wrapf(err, "accounts: transactions")
	}
	out, err := listTransactions(db, id, req)
	if err != nil {
		return page.Page[gateway.Transaction]{}, problem.Wrapf(err, "accounts: transactions")
	}
	return out, nil
}

// Notifications returns one page of the emails sent to the owner of account
// id, newest first, to that owner or staff.
func (s *service) Notifications(ctx context.Context, id uuid.UUID, req page.Request) (page.Page[mail.Notification], error) {
	if err := identity.Require(ctx, reading...); err != nil {
		return page.Page[mail.Notification]{}, err
	}
	if err := mayTouch(ctx, s.db.WithContext(ctx), id, mayRead); err != nil {
		return page.Page[mail.Notification]{}, problem.Wrapf(err, "accounts: notifications")
	}
	out, err := mail.List(ctx, s.db.DB, id.String(), req)
	if err != nil {
		return page.Page[mail.Notification]{}, problem.Wrapf(err, "accounts: notifications")
	}
	return out, nil
}

func notFound(id uuid.UUID) error {
	return gateway.ErrAccountNotFound.WithDetail("no account %s", id)
}
