package im

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/gateway/accounts/events"
	"github.com/uberservice/uberservice/gateway/im"
	"github.com/uberservice/uberservice/platform/mail"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/money"
)

// im's event handlers: what it does when accounts opens an account or takes a
// deposit. They are registered with messaging.HandleBatched: each runs in the
// transaction that records its messages in the inbox, maybe with other
// deliveries of the same handler, so a redelivery has no second effect.

// onAccountCreated links an account opened with a manager's referral code.
func (s *service) onAccountCreated(ctx context.Context, tx *gorm.DB, e events.AccountCreated) error {
	if e.AccountID == uuid.Nil {
		return messaging.Permanent(errors.New("account_created without an account_id"))
	}
	return s.applyReferral(ctx, tx, e.AccountID, e.ReferralCode)
}

// applyReferral decides, once per account, whether its referral code makes it
// managed. Whichever comes first, the account_created event or a deposit that
// overtook it, decides; the other finds the decision made.
func (s *service) applyReferral(ctx context.Context, tx *gorm.DB, accountID uuid.UUID, code string) error {
	log := s.log.With("account_id", accountID, "referral_code", code)
	first, err := markReferralApplied(ctx, tx, accountID)
	if err != nil {
		return fmt.Errorf("record referral of account %s: %w", accountID, err)
	}
	if !first {
		log.DebugContext(ctx, "referral already decided")
		return nil
	}
	if code == "" {
		log.DebugContext(ctx, "account opened without a referral code; left unmanaged")
		return nil
	}
	m, found, err := managerByCode(ctx, tx, code)
	if err != nil {
		return fmt.Errorf("find manager of referral code: %w", err)
	}
	if !found {
		log.InfoContext(ctx, "referral code matches no manager; account left unmanaged")
		return nil
	}
	link, created, err := insertLink(ctx, tx, m.ID, accountID)
	if err != nil {
		return fmt.Errorf("link account %s to manager %s: %w", accountID, m.ID, err)
	}
	switch {
	case link.ManagerID != m.ID:
		// Someone linked it by hand before the event arrived; that choice stands.
		log.WarnContext(ctx, "account already has another manager; referral ignored",
			"manager_id", m.ID, "current_manager_id", link.ManagerID)
	case created:
		log.InfoContext(ctx, "account linked by referral code", "manager_id", m.ID)
	}
	return nil
}

// referralFirst handles a deposit into an account whose account_created has
// not been handled yet: it asks accounts for the referral code and decides the
// referral now, so the deposit's commission is not lost to event ordering.
func (s *service) referralFirst(ctx context.Context, tx *gorm.DB, accountID uuid.UUID) (im.Manager, bool, error) {
	a, err := s.accounts.Get(ctx, accountID)
	switch {
	case errors.Is(err, accounts.ErrAccountNotFound):
		s.log.WarnContext(ctx, "deposit into an account accounts does not know; no commission", "account_id", accountID)
		return im.Manager{}, false, nil
	case err != nil:
		return im.Manager{}, false, fmt.Errorf("ask accounts for the referral code of %s: %w", accountID, err)
	}
	if err := s.applyReferral(ctx, tx, accountID, a.ReferralCode); err != nil {
		return im.Manager{}, false, err
	}
	return managerOfAccount(ctx, tx, accountID)
}

// depositsContexts reads what each deposit of a batch needs to know about
// its account, in one query for the batch (see messaging.HandleBatchedWith).
func (s *service) depositsContexts(ctx context.Context, tx *gorm.DB, deposits []events.FundsDepositedV2) (map[uuid.UUID]depositContext, error) {
	ids := make([]uuid.UUID, len(deposits))
	for i, e := range deposits {
		ids[i] = e.AccountID
	}
	contexts, err := depositContexts(tx, ids)
	if err != nil {
		return nil, fmt.Errorf("find managers of %d accounts: %w", len(ids), err)
	}
	return contexts, nil
}

// onFundsDeposited pays the manager of the account a commission on the
// deposit, once per deposit, and sends the manager a separate email. It reads
// the second version of funds_deposited; im's instances of a build before it
// read the first, and the inbox makes one deposit one commission between them
// (see messaging.Versioned). contexts holds what depositsContexts read for
// the event's batch.
func (s *service) onFundsDeposited(ctx context.Context, tx *gorm.DB, e events.FundsDepositedV2, contexts map[uuid.UUID]depositContext) error {
	if e.TransactionID == uuid.Nil || e.AccountID == uuid.Nil || e.Amount.Amount <= 0 || e.Amount.Currency == "" {
		return messaging.Permanent(fmt.Errorf("funds_deposited for transaction %s is incomplete: account %s, amount %d, currency %q",
			e.TransactionID, e.AccountID, e.Amount.Amount, e.Amount.Currency))
	}
	dc, ok := contexts[e.AccountID]
	if !ok {
		return fmt.Errorf("find manager of account %s: not prefetched", e.AccountID)
	}
	m, managed := dc.manager, dc.managed
	if !managed {
		if dc.decided {
			return nil // an account with no manager: no commission
		}
		var err error
		if m, managed, err = s.referralFirst(ctx, tx, e.AccountID); err != nil {
			return err
		}
		// Decided now, for a later deposit of the batch into the account.
		contexts[e.AccountID] = depositContext{manager: m, managed: managed, decided: true}
		if !managed {
			return nil
		}
	}
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("commission id: %w", err)
	}
	c := commission{
		ID: id, ManagerID: m.ID, AccountID: e.AccountID, TransactionID: e.TransactionID,
		Amount: commissionOn(e.Amount.Amount, m.CommissionBps), Currency: e.Amount.Currency,
		DepositAmount: e.Amount.Amount, CommissionBps: m.CommissionBps,
	}
	log := s.log.With("manager_id", m.ID, "account_id", e.AccountID, "transaction_id", e.TransactionID)
	recorded, err := insertCommission(ctx, tx, c)
	if err != nil {
		return fmt.Errorf("record commission on transaction %s: %w", e.TransactionID, err)
	}
	if !recorded {
		// The same deposit under another message id: the inbox could not tell.
		log.InfoContext(ctx, "commission on this deposit already recorded; skipped")
		return nil
	}
	if err := mail.Enqueue(ctx, tx, m.ID.String(), depositEmail(m, c)); err != nil {
		return err
	}
	log.InfoContext(ctx, "commission recorded", "amount", c.Amount, "currency", c.Currency)
	return nil
}

// commissionOn returns floor(amount * bps / 10000) for amount >= 0 and bps in
// 0..10000. The product alone can overflow int64 (1e15 * 1e4), so amount is
// split as 10000*q + r: q*bps cannot overflow for any int64 amount, and r*bps
// is below 1e8.
func commissionOn(amount int64, bps int) int64 {
	q, r := amount/bpsPerWhole, amount%bpsPerWhole
	return q*int64(bps) + r*int64(bps)/bpsPerWhole
}

// depositEmail is the manager's own notice of a deposit: a separate email, not
// a copy of the owner's confirmation.
func depositEmail(m im.Manager, c commission) mail.Message {
	return mail.Message{
		To:      m.Email,
		Subject: fmt.Sprintf("Deposit of %s into an account you manage", money.Format(c.DepositAmount, c.Currency)),
		Body: fmt.Sprintf("Hello %s,\n\nAccount %s received a deposit of %s (transaction %s).\n"+
			"Your commission at %d.%02d%%: %s.\n",
			m.Name, c.AccountID, money.Format(c.DepositAmount, c.Currency), c.TransactionID,
			m.CommissionBps/100, m.CommissionBps%100, money.Format(c.Amount, c.Currency)),
	}
}
