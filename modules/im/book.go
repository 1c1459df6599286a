package im

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/gateway/im"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/mail"
	"github.com/uberservice/uberservice/platform/page"
	"github.com/uberservice/uberservice/platform/problem"
)

// A manager's book: the accounts they manage, what they earned and the
// emails that told them. Its readers are the manager and staff (managerFor).

// Commission is what a manager earned on one deposit, in the deposit's currency.
type Commission struct {
	ID            uuid.UUID `json:"id"`
	AccountID     uuid.UUID `json:"account_id"`
	TransactionID uuid.UUID `json:"transaction_id"`
	Amount        int64     `json:"amount"`
	Currency      string    `json:"currency"`
	CreatedAt     time.Time `json:"created_at"`
}

// Commissions is one page of a manager's commissions, newest first. Total
// adds up every amount, on every page, as the contract asks; ByCurrency is
// the honest figure when a manager's accounts do not all share one currency.
type Commissions struct {
	page.Page[Commission]
	Total      int64            `json:"total"`
	ByCurrency map[string]int64 `json:"by_currency"`
}

// Summary is a manager's book: the accounts managed, with balances as the
// accounts context reports them now, and the commission earned so far.
type Summary struct {
	Manager              im.Manager       `json:"manager"`
	Accounts             []ManagedAccount `json:"accounts"`
	CommissionTotal      int64            `json:"commission_total"`
	CommissionByCurrency map[string]int64 `json:"commission_by_currency"`
}

// ManagedAccount is one line of a Summary.
type ManagedAccount struct {
	AccountID uuid.UUID `json:"account_id"`
	OwnerName string    `json:"owner_name"`
	Balance   int64     `json:"balance"`
	Currency  string    `json:"currency"`
}

// Summary returns a manager's book. Balances are asked of the accounts context
// in batches of accounts.MaxBatch, one call for any ordinary book, rather than
// one call per account. They are asked on im's own authority: the accounts
// are not the manager's, but im has checked that the caller may see the
// book.
func (s *service) Summary(ctx context.Context, managerID uuid.UUID) (Summary, error) {
	m, err := s.managerFor(ctx, managerID)
	if err != nil {
		return Summary{}, err
	}
	ids, err := linkedAccounts(ctx, s.db.DB, managerID)
	if err != nil {
		return Summary{}, fmt.Errorf("im: accounts of manager %s: %w", managerID, err)
	}
	found := make(map[uuid.UUID]accounts.Account, len(ids))
	for batch := range slices.Chunk(ids, accounts.MaxBatch) {
		got, err := s.accounts.GetMany(identity.WithoutPerson(ctx), batch)
		if err != nil {
			return Summary{}, accountsFailed(err)
		}
		for _, a := range got {
			found[a.ID] = a
		}
	}
	sum := Summary{Manager: m, Accounts: make([]ManagedAccount, 0, len(ids))}
	for _, id := range ids {
		a, ok := found[id]
		if !ok {
			// Accounts are never deleted, so this is a link im got wrong; the
			// book is still worth showing without it.
			s.log.WarnContext(ctx, "managed account unknown to accounts; left out of the summary", "manager_id", managerID, "account_id", id)
			continue
		}
		sum.Accounts = append(sum.Accounts, ManagedAccount{AccountID: a.ID, OwnerName: a.OwnerName, Balance: a.Balance, Currency: a.Currency})
	}
	if sum.CommissionTotal, sum.CommissionByCurrency, err = s.commissionTotals(ctx, managerID); err != nil {
		return Summary{}, err
	}
	return sum, nil
}

// Commissions lists one page of what a manager earned, newest first, and
// the totals of it all.
func (s *service) Commissions(ctx context.Context, managerID uuid.UUID, req page.Request) (Commissions, error) {
	if _, err := s.managerFor(ctx, managerID); err != nil {
		return Commissions{}, err
	}
	p, err := commissionsOf(ctx, s.db.DB, managerID, req)
	if err != nil {
		return Commissions{}, problem.Wrapf(err, "im: commissions of manager %s", managerID)
	}
	out := Commissions{Page: p}
	if out.Total, out.ByCurrency, err = s.commissionTotals(ctx, managerID); err != nil {
		return Commissions{}, err
	}
	return out, nil
}

func (s *service) commissionTotals(ctx context.Context, managerID uuid.UUID) (total int64, byCurrency map[string]int64, err error) {
	byCurrency, err = commissionTotals(ctx, s.db.DB, managerID)
	if err != nil {
		return 0, nil, fmt.Errorf("im: commission totals of manager %s: %w", managerID, err)
	}
	for _, t := range byCurrency {
		total += t
	}
	return total, byCurrency, nil
}

// Notifications lists one page of the emails sent to a manager, newest first.
func (s *service) Notifications(ctx context.Context, managerID uuid.UUID, req page.Request) (page.Page[mail.Notification], error) {
	if _, err := s.managerFor(ctx, managerID); err != nil {
		return page.Page[mail.Notification]{}, err
	}
	p, err := mail.List(ctx, s.db.DB, managerID.String(), req)
	return p, problem.Wrapf(err, "im: notifications of manager %s", managerID)
}
