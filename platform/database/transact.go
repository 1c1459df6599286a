package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/tracing"
)

// AfterCommit registers f to run after every transaction that Transact
// commits having written to table (see Touch). Background workers (the outbox
// relay, the mail dispatcher) register here to be woken the moment there is
// new work, instead of polling for it, and only then: a module that commits
// a thousand transactions a second without an event does not wake its relay a
// thousand times for nothing.
func (d *DB) AfterCommit(table string, f func()) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.hooks == nil {
		d.hooks = map[string][]func(){}
	}
	d.hooks[table] = append(d.hooks[table], f)
}

// Touch records that the transaction tx belongs to has written to table, so
// that the hooks registered for table run once it commits. Outside a
// transaction that Transact runs, it does nothing: the workers' own polls
// find the rows then.
func Touch(tx *gorm.DB, table string) {
	if t := stateOf(tx); t != nil {
		t.touch(table)
	}
}

// Defer has the transaction tx belongs to run the statement query (with
// $1, $2… placeholders) when it commits, in the same round trip as its
// COMMIT, and records that it writes to table, as Touch does (unless table
// is "": a write that should wake no worker). It is for the
// writes whose outcome nothing in the transaction reads: an event into the
// outbox, an email into the queue. A transaction that Transact runs then
// costs one round trip to Postgres for all of them together, where each
// would cost its own; the statements run in the order they were deferred,
// after every statement run directly, and the first that fails fails the
// commit and rolls back the whole transaction, so they are exactly as
// durable and atomic as if they ran at once.
//
// Outside a transaction that Transact runs (a GORM transaction of its own,
// the pool itself), the statement runs at once, on tx.
func Defer(tx *gorm.DB, table, query string, args ...any) error {
	if t := stateOf(tx); t != nil {
		t.mu.Lock()
		t.deferred = append(t.deferred, deferred{query: query, args: args})
		t.mu.Unlock()
		if table != "" {
			t.touch(table)
		}
		return nil
	}
	_, err := tx.Statement.ConnPool.ExecContext(tx.Statement.Context, query, args...)
	return err
}

type stateKey struct{}

// txConn is the connection of a transaction that Transact runs, as GORM
// sees it: a gorm.ConnPool and, so that GORM nests a tx.Transaction within
// fn as a savepoint, a gorm.TxCommitter whose Commit and Rollback refuse
// (fn ends the transaction by returning). It has no BeginTx, so that
// tx.Begin() cannot start a second transaction on it.
type txConn struct{ conn *sql.Conn }

var errEndedByTransact = errors.New("database: Transact commits or rolls back when fn returns")

func (c txConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return c.conn.ExecContext(ctx, query, args...)
}

func (c txConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return c.conn.QueryContext(ctx, query, args...)
}

func (c txConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return c.conn.QueryRowContext(ctx, query, args...)
}

func (c txConn) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	return c.conn.PrepareContext(ctx, query)
}

func (txConn) Commit() error   { return errEndedByTransact }
func (txConn) Rollback() error { return errEndedByTransact }

// state is what a transaction that Transact runs collects as it goes: the
// tables it has written to and the statements deferred to its commit.
type state struct {
	conn *sql.Conn // the transaction's connection

	mu       sync.Mutex
	tables   []string
	deferred []deferred
}

type deferred struct {
	query string
	args  []any
}

// stateOf is the state of the transaction that Transact runs on tx's
// connection, or nil: a tx with the context of a transaction but another
// connection (the pool's, say) is not in it.
func stateOf(tx *gorm.DB) *state {
	t, ok := tx.Statement.Context.Value(stateKey{}).(*state)
	if !ok || tx.Statement.ConnPool != gorm.ConnPool(txConn{t.conn}) {
		return nil
	}
	return t
}

func (t *state) touch(table string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !slices.Contains(t.tables, table) {
		t.tables = append(t.tables, table)
	}
}

// Transact runs fn in a transaction and, once it has committed, runs the
// after-commit hooks of the tables it touched. fn must use tx for every
// statement that belongs to it. Each call is a transaction of its own, even
// within another's fn.
//
// The statements Defer queued are sent with COMMIT, in one round trip; so
// a transaction costs BEGIN, one round trip per statement whose answer it
// reads, and one for everything else.
func (d *DB) Transact(ctx context.Context, fn func(tx *gorm.DB) error) error {
	ctx, span := d.startTransaction(ctx)
	t, err := d.transact(ctx, fn)
	tracing.End(span, err)
	if err != nil {
		return err
	}
	if len(t.tables) == 0 {
		return nil
	}
	d.mu.Lock()
	var hooks []func()
	for _, table := range t.tables {
		hooks = append(hooks, d.hooks[table]...)
	}
	d.mu.Unlock()
	for _, h := range hooks {
		h()
	}
	return nil
}

// transact runs fn between BEGIN and COMMIT on one connection of the pool,
// held for the whole transaction, and rolls back when fn fails or panics
// (the panic goes on).
func (d *DB) transact(ctx context.Context, fn func(tx *gorm.DB) error) (t *state, err error) {
	pool, err := d.DB.DB()
	if err != nil {
		return nil, fmt.Errorf("database: pool of %s: %w", d.Schema, err)
	}
	conn, err := pool.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("database: connection to %s: %w", d.Schema, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return nil, fmt.Errorf("database: begin: %w", err)
	}
	t = &state{conn: conn}
	tx := d.DB.Session(&gorm.Session{Context: context.WithValue(ctx, stateKey{}, t), NewDB: true})
	tx.Statement.ConnPool = txConn{conn}
	done := false
	defer func() {
		if !done || err != nil {
			rollback(ctx, conn)
		}
	}()
	err = fn(tx)
	if err == nil {
		err = t.commit(ctx)
	}
	done = true
	return t, err
}

// commit sends the deferred statements and COMMIT as one batch: pgx
// pipelines them, and Postgres runs them in order and stops at the first
// that fails, which then fails the batch.
func (t *state) commit(ctx context.Context) error {
	return t.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("database: a connection of %T, not pgx's", dc)
		}
		t.mu.Lock()
		var b pgx.Batch
		for _, q := range t.deferred {
			b.Queue(q.query, q.args...)
		}
		t.mu.Unlock()
		b.Queue("COMMIT")
		if err := c.Conn().SendBatch(ctx, &b).Close(); err != nil {
			return fmt.Errorf("database: commit: %w", err)
		}
		return nil
	})
}

// rollback ends the transaction on conn, if one is open, whatever ctx says;
// a connection it cannot roll back is closed rather than returned to the
// pool in a transaction.
func rollback(ctx context.Context, conn *sql.Conn) {
	_ = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return driver.ErrBadConn
		}
		if c.Conn().PgConn().TxStatus() == 'I' {
			return nil
		}
		if _, err := c.Conn().Exec(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
			return errors.Join(driver.ErrBadConn, err)
		}
		return nil
	})
}
