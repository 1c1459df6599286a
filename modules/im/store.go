package im

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/gateway/im"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/page"
)

// The SQL of the im schema. Every function takes the handle to run on, the pool
// or a transaction, so that the service decides what commits together: an
// event handler passes the transaction that also records the message in the
// inbox. Times leave the store in UTC, so that a DTO read here and the same
// DTO decoded from JSON are equal.

const managerColumns = "id, subject, name, email, referral_code, commission_bps, created_at"

// The unique indexes of managers, as a unique violation names them.
const (
	managersReferralCode = "managers_referral_code_key"
	managersSubject      = "managers_subject"
)

func insertManager(ctx context.Context, q *gorm.DB, m im.Manager) (im.Manager, error) {
	var out im.Manager
	err := q.WithContext(ctx).Raw(`INSERT INTO managers (id, subject, name, email, referral_code, commission_bps)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING `+managerColumns,
		m.ID, m.Subject, m.Name, m.Email, m.ReferralCode, m.CommissionBps).Scan(&out).Error
	out.CreatedAt = out.CreatedAt.UTC()
	return out, err
}

// violatedIndex is the unique index err violates, or "" when err is no
// unique violation: a manager's referral code and subject are both unique,
// and each has an answer of its own.
func violatedIndex(err error) string {
	var pg *pgconn.PgError
	if !database.IsUniqueViolation(err) || !errors.As(err, &pg) {
		return ""
	}
	return pg.ConstraintName
}

func managerByID(ctx context.Context, q *gorm.DB, id uuid.UUID) (im.Manager, bool, error) {
	return oneManager(ctx, q, "SELECT "+managerColumns+" FROM managers WHERE id = ?", id)
}

func managerByCode(ctx context.Context, q *gorm.DB, code string) (im.Manager, bool, error) {
	return oneManager(ctx, q, "SELECT "+managerColumns+" FROM managers WHERE referral_code = ?", code)
}

func managerOfAccount(ctx context.Context, q *gorm.DB, accountID uuid.UUID) (im.Manager, bool, error) {
	return oneManager(ctx, q, `SELECT m.id, m.subject, m.name, m.email, m.referral_code, m.commission_bps, m.created_at
		FROM account_links l JOIN managers m ON m.id = l.manager_id WHERE l.account_id = ?`, accountID)
}

func oneManager(ctx context.Context, q *gorm.DB, query string, arg any) (im.Manager, bool, error) {
	var m im.Manager
	res := q.WithContext(ctx).Raw(query, arg).Scan(&m)
	if res.Error != nil || res.RowsAffected == 0 {
		return im.Manager{}, false, res.Error
	}
	m.CreatedAt = m.CreatedAt.UTC()
	return m, true, nil
}

// insertLink links accountID to managerID unless it is linked already, and
// returns the account's link either way; created says whether it is new. When
// another transaction is linking the same account, the insert waits for it, and
// the read that follows sees its outcome.
func insertLink(ctx context.Context, q *gorm.DB, managerID, accountID uuid.UUID) (Link, bool, error) {
	res := q.WithContext(ctx).Exec(`INSERT INTO account_links (account_id, manager_id) VALUES (?, ?)
		ON CONFLICT (account_id) DO NOTHING`, accountID, managerID)
	if res.Error != nil {
		return Link{}, false, res.Error
	}
	link, found, err := linkOf(ctx, q, accountID)
	if err != nil {
		return Link{}, false, err
	}
	if !found {
		return Link{}, false, fmt.Errorf("link of account %s was removed while being made", accountID)
	}
	return link, res.RowsAffected == 1, nil
}

func linkOf(ctx context.Context, q *gorm.DB, accountID uuid.UUID) (Link, bool, error) {
	var l Link
	res := q.WithContext(ctx).Raw(`SELECT manager_id, account_id, created_at FROM account_links
		WHERE account_id = ?`, accountID).Scan(&l)
	if res.Error != nil || res.RowsAffected == 0 {
		return Link{}, false, res.Error
	}
	l.CreatedAt = l.CreatedAt.UTC()
	return l, true, nil
}

func deleteLink(ctx context.Context, q *gorm.DB, managerID, accountID uuid.UUID) (bool, error) {
	res := q.WithContext(ctx).Exec("DELETE FROM account_links WHERE account_id = ? AND manager_id = ?", accountID, managerID)
	return res.RowsAffected == 1, res.Error
}

// linkedAccounts returns the ids of the accounts managerID manages, oldest
// link first.
func linkedAccounts(ctx context.Context, q *gorm.DB, managerID uuid.UUID) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := q.WithContext(ctx).Raw(`SELECT account_id FROM account_links WHERE manager_id = ?
		ORDER BY created_at, account_id`, managerID).Scan(&ids).Error
	return ids, err
}

// commission is a commission as stored, with the deposit and rate behind it.
type commission struct {
	ID            uuid.UUID
	ManagerID     uuid.UUID
	AccountID     uuid.UUID
	TransactionID uuid.UUID
	Amount        int64
	Currency      string
	DepositAmount int64
	CommissionBps int
}

// insertCommission records c unless a commission on its transaction exists
// already, and reports whether it did.
func insertCommission(ctx context.Context, q *gorm.DB, c commission) (bool, error) {
	res := q.WithContext(ctx).Exec(`INSERT INTO commissions
		(id, manager_id, account_id, transaction_id, amount, currency, deposit_amount, commission_bps)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (transaction_id) DO NOTHING`,
		c.ID, c.ManagerID, c.AccountID, c.TransactionID, c.Amount, c.Currency, c.DepositAmount, c.CommissionBps)
	return res.RowsAffected == 1, res.Error
}

// commissionOrder is the order of a manager's commissions: newest first; ids
// are UUIDv7, so they order commissions made in one instant.
var commissionOrder = page.NewKeyset("im.commissions", page.Time("created_at"), page.UUID("id"))

// commissionsOf lists one page of managerID's commissions, newest first.
func commissionsOf(ctx context.Context, q *gorm.DB, managerID uuid.UUID, req page.Request) (page.Page[Commission], error) {
	rows := q.WithContext(ctx).Table("commissions").
		Select("id, account_id, transaction_id, amount, currency, created_at").Where("manager_id = ?", managerID)
	p, err := page.Find(rows, commissionOrder, req, func(c Commission) []any { return []any{c.CreatedAt, c.ID} })
	if err != nil {
		return p, err
	}
	return page.Map(p, func(c Commission) Commission {
		c.CreatedAt = c.CreatedAt.UTC()
		return c
	}), nil
}

// commissionTotals adds up managerID's commissions per currency.
func commissionTotals(ctx context.Context, q *gorm.DB, managerID uuid.UUID) (map[string]int64, error) {
	var rows []struct {
		Currency string
		Total    int64
	}
	err := q.WithContext(ctx).Raw(`SELECT currency, sum(amount)::bigint AS total FROM commissions
		WHERE manager_id = ? GROUP BY currency`, managerID).Scan(&rows).Error
	if err != nil {
		return nil, err
	}
	totals := make(map[string]int64, len(rows))
	for _, r := range rows {
		totals[r.Currency] = r.Total
	}
	return totals, nil
}

// markReferralApplied records that the referral of an account is decided; it
// reports false when it already was.
func markReferralApplied(ctx context.Context, q *gorm.DB, accountID uuid.UUID) (bool, error) {
	res := q.WithContext(ctx).Exec(`INSERT INTO referrals_applied (account_id) VALUES (?) ON CONFLICT DO NOTHING`, accountID)
	return res.RowsAffected == 1, res.Error
}

// depositContext is what a deposit into an account needs to know: its
// manager, if it has one, and whether its referral is decided.
type depositContext struct {
	manager im.Manager
	managed bool
	decided bool
}

// depositContexts reads, in one query, the depositContext of each account:
// every deposit needs one, and a batch of deposits reads them together (an
// account named twice comes back twice, alike).
func depositContexts(q *gorm.DB, accountIDs []uuid.UUID) (map[uuid.UUID]depositContext, error) {
	contexts := make(map[uuid.UUID]depositContext, len(accountIDs))
	err := database.Query(q, `SELECT a.id, m.id, m.subject, m.name, m.email, m.referral_code, m.commission_bps, m.created_at,
			EXISTS (SELECT 1 FROM referrals_applied r WHERE r.account_id = a.id) AS decided
		FROM unnest($1::uuid[]) AS a(id)
		LEFT JOIN account_links l ON l.account_id = a.id
		LEFT JOIN managers m ON m.id = l.manager_id`, []any{database.UUIDs(accountIDs)}, func(scan func(...any) error) error {
		var (
			account       uuid.UUID
			id            *uuid.UUID
			subject, name *string
			email, code   *string
			bps           *int
			createdAt     *time.Time
			dc            depositContext
		)
		if err := scan(&account, &id, &subject, &name, &email, &code, &bps, &createdAt, &dc.decided); err != nil {
			return err
		}
		if id != nil {
			dc.managed = true
			dc.manager = im.Manager{ID: *id, Subject: *subject, Name: *name, Email: *email, ReferralCode: *code,
				CommissionBps: *bps, CreatedAt: createdAt.UTC()}
		}
		contexts[account] = dc
		return nil
	})
	return contexts, err
}
