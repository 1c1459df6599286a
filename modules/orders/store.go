package orders

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/page"
	"github.com/uberservice/uberservice/platform/problem"
)

// The SQL of the orders schema. Every function takes the handle to run on, the
// pool or a transaction, so that the service and the saga decide what commits
// together. Times leave the store in UTC, so that an order read here and the
// same order decoded from JSON are equal.

// order is an order as the schema keeps it: the DTO's fields, the saga's
// position and its failed attempts.
type order struct {
	ID                uuid.UUID
	AccountID         uuid.UUID
	Customer          string // who placed it, whom its saga acts for: a subject; "" before people had tokens
	Status            string
	RejectReason      *string
	RefundError       *string
	RefundErrorDetail *string
	SagaStep          string
	Attempts          int
	NextAttemptAt     *time.Time
	Total             int64
	Currency          string
	RequestHash       *string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	Lines             []line `gorm:"-"`
	// leasedAt is a moment before this driver last took or renewed the
	// saga's lease (in memory only; zero when it does not know): see hold.
	leasedAt time.Time `gorm:"-"`
}

// line is one product of an order; UnitPrice is nil until the stock is
// reserved.
type line struct {
	OrderID   uuid.UUID `gorm:"column:order_id"`
	SKU       string    `gorm:"column:sku"`
	Quantity  int64     `gorm:"column:quantity"`
	UnitPrice *int64    `gorm:"column:unit_price"`
}

const orderColumns = `id, account_id, customer, status, reject_reason, refund_error, refund_error_detail, saga_step,
	attempts, next_attempt_at, total, currency, request_hash, created_at, updated_at`

// leaseEnd is the end of a lease of the duration given by placeholder (?
// for gorm, $n for pgx), in milliseconds, counted on the database's clock,
// which every instance shares.
func leaseEnd(placeholder string) string {
	return `now() + ` + placeholder + ` * interval '1 millisecond'`
}

// leaseSQL is leaseEnd of the next argument, for gorm's statements.
var leaseSQL = leaseEnd("?")

// insertOrder writes o, its lines and its lease, unless key is already another
// order's of o's customer: then it writes nothing and inserted is false. A
// concurrent insert with the same key waits on the unique index until the
// first one commits, so the loser finds the winner's order afterwards.
func insertOrder(tx *gorm.DB, o *order, key *string, token uuid.UUID, lease time.Duration) (inserted bool, err error) {
	// database.QueryRow: first in Place's transaction, it carries the BEGIN.
	err = database.QueryRow(tx, `INSERT INTO orders
		(id, account_id, customer, status, saga_step, idempotency_key, request_hash, lease_token, lease_until)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, `+leaseEnd("$9")+`)
		ON CONFLICT (customer, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
		RETURNING created_at, updated_at`,
		[]any{o.ID, o.AccountID, o.Customer, o.Status, o.SagaStep, key, o.RequestHash, token, lease.Milliseconds()},
		&o.CreatedAt, &o.UpdatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("insert order: %w", err)
	}
	o.CreatedAt, o.UpdatedAt = o.CreatedAt.UTC(), o.UpdatedAt.UTC()
	values := make([]string, len(o.Lines))
	args := make([]any, 0, 3*len(o.Lines))
	for i, l := range o.Lines {
		values[i] = fmt.Sprintf("($%d, $%d, $%d)", 3*i+1, 3*i+2, 3*i+3)
		args = append(args, o.ID, l.SKU, l.Quantity)
	}
	// Nothing in the transaction reads the lines back: they go with its
	// COMMIT, in the same round trip.
	if err := database.Defer(tx, "", `INSERT INTO order_lines (order_id, sku, quantity) VALUES `+
		strings.Join(values, ", "), args...); err != nil {
		return false, fmt.Errorf("insert order lines: %w", err)
	}
	return true, nil
}

// orderByID returns the order id with its lines, or found false.
func orderByID(ctx context.Context, db *gorm.DB, id uuid.UUID) (order, bool, error) {
	return oneOrder(ctx, db, "read order", `SELECT `+orderColumns+` FROM orders WHERE id = ?`, id)
}

// orderByKey returns the order customer placed with the Idempotency-Key key,
// or found false.
func orderByKey(ctx context.Context, db *gorm.DB, customer, key string) (order, bool, error) {
	return oneOrder(ctx, db, "read order", `SELECT `+orderColumns+` FROM orders WHERE customer = ? AND idempotency_key = ?`,
		customer, key)
}

// oneOrder runs query, which returns the columns of at most one order, and
// returns that order with its lines, or found false. what names the query in
// an error.
func oneOrder(ctx context.Context, db *gorm.DB, what, query string, args ...any) (o order, found bool, err error) {
	res := db.WithContext(ctx).Raw(query, args...).Scan(&o)
	if res.Error != nil {
		return order{}, false, fmt.Errorf("%s: %w", what, res.Error)
	}
	if res.RowsAffected == 0 {
		return order{}, false, nil
	}
	all := []order{o}
	if err := withLines(ctx, db, all); err != nil {
		return order{}, false, err
	}
	return all[0], true, nil
}

// orderOrder is the order of an account's orders: newest first, by id among
// those placed in one instant.
var orderOrder = page.NewKeyset("orders.orders", page.Time("created_at"), page.UUID("id"))

// ordersOfAccount returns one page of the orders of account within sc,
// newest first, with their lines.
func ordersOfAccount(ctx context.Context, db *gorm.DB, account uuid.UUID, sc scope, req page.Request) (page.Page[order], error) {
	q := db.WithContext(ctx).Table("orders").Select(orderColumns).Where("account_id = ?", account)
	if !sc.all {
		q = q.Where("customer = ?", sc.customer)
	}
	p, err := page.Find(q, orderOrder, req, func(o order) []any { return []any{o.CreatedAt, o.ID} })
	if err != nil {
		return page.Page[order]{}, problem.Wrapf(err, "list orders")
	}
	if err := withLines(ctx, db, p.Items); err != nil {
		return page.Page[order]{}, err
	}
	return p, nil
}

// withLines reads the lines of orders, in one query, in SKU order, and
// normalizes their times to UTC.
func withLines(ctx context.Context, db *gorm.DB, orders []order) error {
	if len(orders) == 0 {
		return nil
	}
	ids := make([]uuid.UUID, len(orders))
	for i, o := range orders {
		ids[i] = o.ID
	}
	var lines []line
	if err := db.WithContext(ctx).Raw(`SELECT order_id, sku, quantity, unit_price FROM order_lines
		WHERE order_id IN ? ORDER BY order_id, sku`, ids).Scan(&lines).Error; err != nil {
		return fmt.Errorf("read order lines: %w", err)
	}
	byOrder := map[uuid.UUID][]line{}
	for _, l := range lines {
		byOrder[l.OrderID] = append(byOrder[l.OrderID], l)
	}
	for i := range orders {
		orders[i].Lines = byOrder[orders[i].ID]
		orders[i].CreatedAt = orders[i].CreatedAt.UTC()
		orders[i].UpdatedAt = orders[i].UpdatedAt.UTC()
	}
	return nil
}

// freeSQL holds for an unfinished saga that nobody drives: its lease is free
// or expired. dueSQL holds for one the recovery may drive now: free, and the
// time set after its last failed attempt has come.
const (
	freeSQL = `saga_step <> 'done' AND (lease_until IS NULL OR lease_until < now())`
	dueSQL  = freeSQL + ` AND (next_attempt_at IS NULL OR next_attempt_at <= now())`
)

// claimable lists, in id order after after, up to limit unfinished orders
// that are due.
func claimable(ctx context.Context, db *gorm.DB, after uuid.UUID, limit int) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	if err := db.WithContext(ctx).Raw(`SELECT id FROM orders WHERE `+dueSQL+` AND id > ?
		ORDER BY id LIMIT ?`, after, limit).Scan(&ids).Error; err != nil {
		return nil, fmt.Errorf("list unfinished orders: %w", err)
	}
	return ids, nil
}

// claim takes the saga of order id for the holder of token, when it is due:
// the one UPDATE decides between instances racing for it. claimed is false
// when someone else holds it, it waits for its next attempt, or it is done.
func claim(ctx context.Context, db *gorm.DB, id, token uuid.UUID, lease time.Duration) (o order, claimed bool, err error) {
	return claimWhere(ctx, db, id, token, lease, dueSQL)
}

// takeOver takes the unfinished saga of order id for the holder of token when
// nobody drives it, even before its next attempt is due: for a customer who
// asks again, not for the recovery.
func takeOver(ctx context.Context, db *gorm.DB, id, token uuid.UUID, lease time.Duration) (o order, claimed bool, err error) {
	return claimWhere(ctx, db, id, token, lease, freeSQL)
}

// startCancel moves a paid order whose saga is done to the step cancelling,
// claimed for the holder of token. started is false when the order is not (or
// no longer) paid and settled.
func startCancel(ctx context.Context, db *gorm.DB, id, token uuid.UUID, lease time.Duration) (o order, started bool, err error) {
	return claimWhere(ctx, db, id, token, lease, `status = 'paid' AND saga_step = 'done'`,
		`saga_step = 'cancelling'`)
}

func claimWhere(ctx context.Context, db *gorm.DB, id, token uuid.UUID, lease time.Duration, where string, set ...string) (order, bool, error) {
	assign := ""
	for _, s := range set {
		assign += s + ", "
	}
	return oneOrder(ctx, db, fmt.Sprintf("claim order %s", id), `UPDATE orders SET `+assign+`lease_token = ?, lease_until = `+leaseSQL+`
		WHERE id = ? AND `+where+` RETURNING `+orderColumns, token, lease.Milliseconds(), id)
}

// renewLease extends the lease on order id while token still holds it.
func renewLease(ctx context.Context, db *gorm.DB, id, token uuid.UUID, lease time.Duration) (renewed bool, err error) {
	res := db.WithContext(ctx).Exec(`UPDATE orders SET lease_until = `+leaseSQL+`
		WHERE id = ? AND lease_token = ?`, lease.Milliseconds(), id, token)
	if res.Error != nil {
		return false, fmt.Errorf("renew the lease on order %s: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// move is one persisted step of a saga: from one step to the next, with what
// changes on the way. Nil fields are left as they are.
type move struct {
	from, to     string
	status       *string
	reason       *string
	refundError  *string
	refundDetail *string
	total        *int64
	currency     *string
}

// moveSaga applies m to order id, on condition that the saga is still at
// m.from and still held by token, and renews the lease; a saga that reaches
// done lets its lease go and forgets its failed attempts. moved is false when
// the condition failed: another driver took the saga over (its lease had
// expired), and this one must stop.
func moveSaga(tx *gorm.DB, id, token uuid.UUID, lease time.Duration, m move) (updatedAt time.Time, moved bool, err error) {
	// database.QueryRow: first in a step's transaction, it carries the BEGIN.
	err = database.QueryRow(tx, `UPDATE orders SET
			saga_step           = $1::text,
			status              = COALESCE($2::text, status),
			reject_reason       = COALESCE($3::text, reject_reason),
			refund_error        = COALESCE($4::text, refund_error),
			refund_error_detail = COALESCE($5::text, refund_error_detail),
			total               = COALESCE($6::bigint, total),
			currency            = COALESCE($7::text, currency),
			lease_until         = CASE WHEN $1::text = 'done' THEN NULL ELSE `+leaseEnd("$8")+` END,
			lease_token         = CASE WHEN $1::text = 'done' THEN NULL ELSE lease_token END,
			attempts            = CASE WHEN $1::text = 'done' THEN 0 ELSE attempts END,
			next_attempt_at     = CASE WHEN $1::text = 'done' THEN NULL ELSE next_attempt_at END,
			updated_at          = now()
		WHERE id = $9 AND saga_step = $10 AND lease_token = $11
		RETURNING updated_at`,
		[]any{m.to, m.status, m.reason, m.refundError, m.refundDetail, m.total, m.currency, lease.Milliseconds(), id, m.from, token},
		&updatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("move order %s from %s to %s: %w", id, m.from, m.to, err)
	}
	return updatedAt.UTC(), true, nil
}

// setUnitPrice records the price sku was reserved at, with the commit of
// tx's transaction: nothing in it reads the price back.
func setUnitPrice(tx *gorm.DB, id uuid.UUID, sku string, price int64) error {
	if err := database.Defer(tx, "", `UPDATE order_lines SET unit_price = $1 WHERE order_id = $2 AND sku = $3`,
		price, id, sku); err != nil {
		return fmt.Errorf("price line %s of order %s: %w", sku, id, err)
	}
	return nil
}

// markShipped makes the paid order id shipped, whatever its saga was doing: a
// dispatched shipment cannot be cancelled any more. shipped is false when the
// order is not paid.
func markShipped(tx *gorm.DB, id uuid.UUID) (updatedAt time.Time, shipped bool, err error) {
	err = database.QueryRow(tx, `UPDATE orders SET status = 'shipped', saga_step = 'done',
			lease_until = NULL, lease_token = NULL, attempts = 0, next_attempt_at = NULL, updated_at = now()
		WHERE id = $1 AND status = 'paid' RETURNING updated_at`, []any{id}, &updatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, fmt.Errorf("mark order %s shipped: %w", id, err)
	}
	return updatedAt.UTC(), true, nil
}
