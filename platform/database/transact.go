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
	"github.com/jackc/pgx/v5/pgconn"
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

type aheadKey struct{}

// Ahead marks the transactions Transact runs with ctx as work that the rest
// of the system waits on (the relay that delivers a module's events, the
// consumers that handle them, the dispatcher that sends its emails): they
// skip the queue of transactions waiting for a connection, so that a flood
// of requests delays the events those requests cause by a connection's
// wait, not by the whole queue's. Requests never use it.
func Ahead(ctx context.Context) context.Context { return context.WithValue(ctx, aheadKey{}, true) }

// txConn is the connection of a transaction that Transact runs, as GORM
// sees it: a gorm.ConnPool and, so that GORM nests a tx.Transaction within
// fn as a savepoint, a gorm.TxCommitter whose Commit and Rollback refuse
// (fn ends the transaction by returning). It has no BeginTx, so that
// tx.Begin() cannot start a second transaction on it.
//
// The transaction's BEGIN is sent with its first statement when that is an
// Exec (or QueryRow's), in the same round trip; before a query GORM reads
// rows of, which database/sql must send itself, on its own.
type txConn struct{ t *state }

var errEndedByTransact = errors.New("database: Transact commits or rolls back when fn returns")

func (c txConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if c.t.begun {
		return c.t.conn.ExecContext(ctx, query, args...)
	}
	var tag pgconn.CommandTag
	err := c.t.pipelined(ctx, query, args, func(br pgx.BatchResults) (err error) {
		tag, err = br.Exec()
		return err
	})
	if err != nil {
		return nil, err
	}
	return result(tag.RowsAffected()), nil
}

func (c txConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := c.t.begin(ctx); err != nil {
		return nil, err
	}
	return c.t.conn.QueryContext(ctx, query, args...)
}

func (c txConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if err := c.t.begin(ctx); err != nil {
		// database/sql makes a Row only of a query of its own: one on a
		// context already cancelled, which fails at once and sends nothing
		// outside the transaction that did not begin.
		failed, cancel := context.WithCancel(ctx)
		cancel()
		if c.t.via != nil {
			return c.t.via.pool.QueryRowContext(failed, query, args...)
		}
		return c.t.conn.QueryRowContext(failed, query, args...)
	}
	return c.t.conn.QueryRowContext(ctx, query, args...)
}

func (c txConn) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	if err := c.t.begin(ctx); err != nil {
		return nil, err
	}
	return c.t.conn.PrepareContext(ctx, query)
}

// result is the sql.Result of a statement run through pgx.
type result int64

func (result) LastInsertId() (int64, error) {
	return 0, errors.New("database: Postgres has no last insert id; use RETURNING")
}
func (r result) RowsAffected() (int64, error) { return int64(r), nil }

// QueryRow runs query (with $1, $2… placeholders) on tx and scans its first
// row into dest; a query of no row is an error that wraps sql.ErrNoRows. In
// a transaction that Transact runs, it goes through pgx, and its first
// statement carries the transaction's BEGIN in the same round trip: a
// transaction that starts by reading what it then writes (a balance, say)
// saves one. Elsewhere it runs on tx as database/sql would.
func QueryRow(tx *gorm.DB, query string, args []any, dest ...any) error {
	t := stateOf(tx)
	if t == nil {
		return tx.Statement.ConnPool.QueryRowContext(tx.Statement.Context, query, args...).Scan(dest...)
	}
	return t.pipelined(tx.Statement.Context, query, args, func(br pgx.BatchResults) error {
		return br.QueryRow().Scan(dest...)
	})
}

// Query runs query (with $1, $2… placeholders) on tx and calls each with
// a scan of each of its rows, in order; it stops at each's first error. In a
// transaction that Transact runs it goes through pgx, as QueryRow does: its
// first statement carries the BEGIN, and a group pipelines it with the
// others' (see Grouped). Elsewhere it runs on tx as database/sql would.
func Query(tx *gorm.DB, query string, args []any, each func(scan func(dest ...any) error) error) error {
	t := stateOf(tx)
	if t == nil {
		rows, err := tx.Statement.ConnPool.QueryContext(tx.Statement.Context, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		return eachRow(rows, each)
	}
	return t.pipelined(tx.Statement.Context, query, args, func(br pgx.BatchResults) error {
		rows, err := br.Query()
		if err != nil {
			return err
		}
		defer rows.Close()
		return eachRow(rows, each)
	})
}

// eachRow calls each with a scan of each of rows, database/sql's or pgx's,
// until one fails.
func eachRow(rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}, each func(scan func(dest ...any) error) error) error {
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (txConn) Commit() error   { return errEndedByTransact }
func (txConn) Rollback() error { return errEndedByTransact }

// state is what a transaction that Transact runs collects as it goes: the
// tables it has written to and the statements deferred to its commit.
type state struct {
	conn  *sql.Conn // the transaction's connection; nil for a group's member
	begun bool      // BEGIN has been sent
	via   *member   // the member of a group this transaction is, or nil

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
	if !ok || tx.Statement.ConnPool != gorm.ConnPool(txConn{t}) {
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

// transact runs fn in a group when ctx is Grouped, else alone.
func (d *DB) transact(ctx context.Context, fn func(tx *gorm.DB) error) (*state, error) {
	if key, ok := ctx.Value(groupKey{}).(string); ok {
		return d.join(ctx, key, fn)
	}
	return d.transactAlone(ctx, fn)
}

// connect waits for the hold and for a turn (see DB.turns), then takes a
// connection of the pool; release gives back both.
func (d *DB) connect(ctx context.Context) (conn *sql.Conn, release func(), err error) {
	pool, err := d.DB.DB()
	if err != nil {
		return nil, nil, fmt.Errorf("database: pool of %s: %w", d.Schema, err)
	}
	d.held(ctx)
	turn := func() {}
	if d.turns != nil && ctx.Value(aheadKey{}) == nil {
		select {
		case d.turns <- struct{}{}:
			turn = func() { <-d.turns }
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("database: waiting for a connection to %s: %w", d.Schema, context.Cause(ctx))
		}
	}
	if conn, err = pool.Conn(ctx); err != nil {
		turn()
		return nil, nil, fmt.Errorf("database: connection to %s: %w", d.Schema, err)
	}
	return conn, func() { _ = conn.Close(); turn() }, nil
}

// transactAlone runs fn between BEGIN and COMMIT on one connection of the
// pool, held for the whole transaction, and rolls back when fn fails or
// panics (the panic goes on).
func (d *DB) transactAlone(ctx context.Context, fn func(tx *gorm.DB) error) (t *state, err error) {
	conn, release, err := d.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	t = &state{conn: conn}
	tx := d.DB.Session(&gorm.Session{Context: context.WithValue(ctx, stateKey{}, t), NewDB: true})
	tx.Statement.ConnPool = txConn{t}
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

// begin sends BEGIN on its own, unless it has been sent. A group's member
// cannot: what needs it (a query database/sql reads rows of) cannot be
// pipelined with the group's other statements.
func (t *state) begin(ctx context.Context) error {
	if t.via != nil {
		t.via.unfit = true
		return errNotGroupable
	}
	if t.begun {
		return nil
	}
	if _, err := t.conn.ExecContext(ctx, "BEGIN"); err != nil {
		return fmt.Errorf("database: begin: %w", err)
	}
	t.begun = true
	return nil
}

// batch runs send on the transaction's pgx connection with a batch that
// starts with BEGIN if nothing has sent it.
func (t *state) batch(send func(c *pgx.Conn, b *pgx.Batch) error) error {
	return t.conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("database: a connection of %T, not pgx's", dc)
		}
		var b pgx.Batch
		if !t.begun {
			b.Queue("BEGIN")
		}
		return send(c.Conn(), &b)
	})
}

// send sends b, which batch began, and reads the result of its BEGIN, if
// it has one; the results of b's own statements are the caller's to read.
func (t *state) send(ctx context.Context, c *pgx.Conn, b *pgx.Batch) (pgx.BatchResults, error) {
	br := c.SendBatch(ctx, b)
	if !t.begun {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return nil, fmt.Errorf("database: begin: %w", err)
		}
		t.begun = true
	}
	return br, nil
}

// pipelined runs query through pgx on the transaction's connection, after
// BEGIN in the same round trip if it has not been sent; read reads its
// result. pgx pipelines the batch, and Postgres stops at the first
// statement that fails.
func (t *state) pipelined(ctx context.Context, query string, args []any, read func(pgx.BatchResults) error) error {
	if t.via != nil {
		return t.via.statement(query, args, read)
	}
	return t.batch(func(c *pgx.Conn, b *pgx.Batch) error {
		b.Queue(query, args...)
		br, err := t.send(ctx, c, b)
		if err != nil {
			return err
		}
		err = read(br)
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

// commit sends the deferred statements and COMMIT as one batch, after
// BEGIN if nothing has sent it: pgx pipelines them, and Postgres runs them
// in order and stops at the first that fails, which then fails the batch.
func (t *state) commit(ctx context.Context) error {
	t.mu.Lock()
	deferred := t.deferred
	t.mu.Unlock()
	if !t.begun && len(deferred) == 0 {
		return nil // nothing was sent: nothing to commit
	}
	return t.batch(func(c *pgx.Conn, b *pgx.Batch) error {
		for _, q := range deferred {
			b.Queue(q.query, q.args...)
		}
		b.Queue("COMMIT")
		if err := c.SendBatch(ctx, b).Close(); err != nil {
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
