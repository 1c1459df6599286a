package database

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
)

// Group commit. A transaction that Transact runs with a Grouped context may
// share one Postgres transaction with others that arrive at the same time:
// a group. Every member's fn runs in a goroutine of its own, as it would
// alone; the group collects the statement each member is waiting on, sends
// all of them in one pipelined round trip (in the order of the members'
// keys), hands each member its result, and so on until every fn has
// returned; then it sends every member's deferred statements and one COMMIT,
// in one more round trip. A round trip to Postgres costs a write and a read
// on each side, and a wake-up of the server process: what a deposit's
// transaction spends most of its time on is those, not its statements. Ten
// deposits in a group cost two round trips and one commit instead of twenty
// and ten.
//
// Each member is answered only after the group's COMMIT, so its effect is as
// durable as alone. A member never fails another: when one fails (its fn
// returns an error, or makes a call a group cannot pipeline, such as a
// query GORM reads rows of), or a statement fails, or the COMMIT is refused,
// the group rolls back and every member runs again alone, where the one at
// fault fails on its own. Only a COMMIT whose outcome is unknown (the
// connection broke) fails the group's members, as it would fail each alone.
//
// A group locks the rows of its members in the order of their keys; a
// module keys a member by what it locks (the account a deposit moves), so
// that two groups in flight lock in the same order and cannot deadlock.
const (
	// groupMax bounds a group: a member waits for the slowest statement of
	// each of the group's rounds.
	groupMax = 32
	// groupsInFlight is how many groups of one DB may run at once: one
	// connection, one Postgres process each.
	groupsInFlight = 2
)

// errGroupAborted answers a member's statement once its group has rolled
// back; the member then runs again alone.
var errGroupAborted = errors.New("database: the group of this transaction rolled back; it runs again alone")

// errNotGroupable answers a call a group cannot pipeline.
var errNotGroupable = errors.New("database: a grouped transaction ran a statement that cannot be pipelined; it runs again alone")

type groupKey struct{}

// Grouped marks the transactions Transact runs with ctx as ones that may
// commit in a group with others (see above), locking what key names. fn
// must be safe to run twice, since a failed group runs it again alone, and
// should use only statements a group pipelines: QueryRow, Exec (GORM's
// tx.Exec among them) and Defer.
func Grouped(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, groupKey{}, key)
}

// grouper forms the groups of a DB: a member joins the queue, and a group
// takes the whole queue, up to groupMax, whenever fewer than groupsInFlight
// run. Nothing waits to fill a group: a member that arrives when a group
// slot is free is a group of one at once.
type grouper struct {
	mu      sync.Mutex
	queue   []*member
	running int
}

// member is one transaction of a group.
type member struct {
	ctx  context.Context
	key  string
	fn   func(tx *gorm.DB) error
	pool *sql.DB
	t    *state
	asks chan ask
	done chan error // the member's outcome: nil, errGroupAborted (run alone) or the commit's
	// unfit: fn made a call that cannot be pipelined; the group must not
	// commit it even if fn went on.
	unfit bool
}

// ask is what a member's goroutine hands its group: a statement and how to
// read its result, or (fn returned) the end of fn.
type ask struct {
	query string
	args  []any
	read  func(pgx.BatchResults) error
	reply chan error
	end   bool
	err   error // fn's error, when end
}

// statement asks m's group to run query; it returns once the group has, with
// what read returned.
func (m *member) statement(query string, args []any, read func(pgx.BatchResults) error) error {
	a := ask{query: query, args: args, read: read, reply: make(chan error, 1)}
	m.asks <- a
	return <-a.reply
}

// join runs fn in a group of d's and returns its state and outcome; a
// member whose group rolled back runs alone.
func (d *DB) join(ctx context.Context, key string, fn func(tx *gorm.DB) error) (*state, error) {
	// What fn runs is its own: a Transact within it is not grouped, which
	// could otherwise wait for a group slot its own group holds.
	ctx = context.WithValue(ctx, groupKey{}, nil)
	pool, err := d.DB.DB()
	if err != nil {
		return nil, fmt.Errorf("database: pool of %s: %w", d.Schema, err)
	}
	m := &member{ctx: ctx, key: key, fn: fn, pool: pool, asks: make(chan ask), done: make(chan error, 1)}
	m.t = &state{via: m}
	g := &d.groups
	g.mu.Lock()
	g.queue = append(g.queue, m)
	start := g.running < groupsInFlight
	if start {
		g.running++
	}
	g.mu.Unlock()
	if start {
		go d.runGroups()
	}
	err = <-m.done
	if errors.Is(err, errGroupAborted) {
		return d.transactAlone(ctx, fn)
	}
	return m.t, err
}

// runGroups runs groups from the queue until it is empty.
func (d *DB) runGroups() {
	g := &d.groups
	for {
		g.mu.Lock()
		n := min(len(g.queue), groupMax)
		if n == 0 {
			g.running--
			g.mu.Unlock()
			return
		}
		members := slices.Clone(g.queue[:n])
		g.queue = slices.Delete(g.queue, 0, n)
		g.mu.Unlock()
		slices.SortStableFunc(members, func(a, b *member) int { return cmp.Compare(a.key, b.key) })
		d.runGroup(members)
	}
}

// runGroup runs members' transactions as one and answers each.
func (d *DB) runGroup(members []*member) {
	if len(members) == 1 {
		// Alone already: no goroutine, no rounds.
		m := members[0]
		t, err := d.transactAlone(m.ctx, m.fn)
		if t != nil {
			m.t = t
		}
		m.done <- err
		return
	}
	ctx, cancel := groupContext(members)
	defer cancel()
	abort := func(active []*member) {
		for _, m := range active {
			for a := range m.asks {
				if a.end {
					break
				}
				a.reply <- errGroupAborted
			}
		}
		for _, m := range members {
			m.done <- errGroupAborted
		}
	}
	conn, release, err := d.connect(ctx)
	if err != nil {
		for _, m := range members {
			m.done <- err
		}
		return
	}
	defer release()
	t := &state{conn: conn} // the group's transaction, as a lone one's
	committed := false
	defer func() {
		if !committed {
			rollback(ctx, conn)
		}
	}()
	for _, m := range members {
		tx := d.DB.Session(&gorm.Session{Context: context.WithValue(m.ctx, stateKey{}, m.t), NewDB: true})
		tx.Statement.ConnPool = txConn{m.t}
		go func() {
			err := callSafely(func() error { return m.fn(tx) })
			m.asks <- ask{end: true, err: err}
		}()
	}
	active := slices.Clone(members)
	for len(active) > 0 {
		var round []ask
		var asking []*member
		failed := false
		for _, m := range active {
			a := <-m.asks
			switch {
			case a.end && (a.err != nil || m.unfit):
				failed = true
			case !a.end:
				round = append(round, a)
				asking = append(asking, m)
			}
		}
		if failed {
			for _, a := range round {
				a.reply <- errGroupAborted
			}
			abort(asking)
			return
		}
		active = asking
		if len(round) == 0 {
			break
		}
		if !t.runRound(ctx, round) {
			abort(asking)
			return
		}
	}
	var deferred []deferred
	for _, m := range members {
		deferred = append(deferred, m.t.deferred...)
	}
	t.deferred = deferred
	err = t.commit(ctx)
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		committed = true
	case errors.As(err, &pgErr):
		// Postgres refused a deferred statement or the COMMIT: nothing of the
		// group is committed, and each member alone may fare better.
		err = errGroupAborted
	}
	for _, m := range members {
		m.done <- err
	}
}

// groupContext is the context of a group's own work (its connection, its
// rounds, its COMMIT): no member's cancellation stops the others', but the
// group ends by the latest of its members' deadlines, or has none if one of
// them has none. Its values are the first member's, for tracing.
func groupContext(members []*member) (context.Context, context.CancelFunc) {
	ctx := context.WithoutCancel(members[0].ctx)
	var latest time.Time
	for _, m := range members {
		d, ok := m.ctx.Deadline()
		if !ok {
			return context.WithCancel(ctx)
		}
		if d.After(latest) {
			latest = d
		}
	}
	return context.WithDeadline(ctx, latest)
}

// runRound sends the statements of round in one batch and answers each with
// what its read returned. It reports false, having answered every statement
// errGroupAborted, when Postgres refused one: the transaction is aborted.
func (t *state) runRound(ctx context.Context, round []ask) bool {
	replies := make([]error, len(round))
	ok := true
	err := t.batch(func(c *pgx.Conn, b *pgx.Batch) error {
		for _, a := range round {
			b.Queue(a.query, a.args...)
		}
		br, err := t.send(ctx, c, b)
		if err != nil {
			return err
		}
		for i, a := range round {
			replies[i] = callSafely(func() error { return a.read(br) })
			var pgErr *pgconn.PgError
			if errors.As(replies[i], &pgErr) {
				ok = false
			}
		}
		return br.Close()
	})
	if err != nil || !ok {
		for _, a := range round {
			a.reply <- errGroupAborted
		}
		return false
	}
	for i, a := range round {
		a.reply <- replies[i]
	}
	return true
}

// callSafely calls f and turns its panic into an error: a member's fn
// panicking must not take the group, and the other members, with it.
func callSafely(f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("database: panic: %v", p)
		}
	}()
	return f()
}
