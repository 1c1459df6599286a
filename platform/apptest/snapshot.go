package apptest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Snapshot describes every row of every table in s's database outside
// Postgres' own schemas, one line a table with a digest of its rows: two
// snapshots are equal when nothing was written in between. Bad input is
// held to it, so that no table a module has, or adds, can be forgotten.
func (s *System) Snapshot(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.DB)
	if err != nil {
		t.Fatalf("apptest: snapshot: %v", err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(ctx, `SELECT table_schema, table_name FROM information_schema.tables
		WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema')
		ORDER BY 1, 2`)
	if err != nil {
		t.Fatalf("apptest: snapshot: list tables: %v", err)
	}
	var tables []pgx.Identifier
	for rows.Next() {
		var schema, table string
		if err := rows.Scan(&schema, &table); err != nil {
			t.Fatalf("apptest: snapshot: %v", err)
		}
		tables = append(tables, pgx.Identifier{schema, table})
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("apptest: snapshot: %v", err)
	}
	var b strings.Builder
	for _, table := range tables {
		var n int64
		var digest string
		if err := conn.QueryRow(ctx, `SELECT count(*), coalesce(md5(string_agg(t::text, E'\n' ORDER BY t::text)), '')
			FROM `+table.Sanitize()+` t`).Scan(&n, &digest); err != nil {
			t.Fatalf("apptest: snapshot %s: %v", table.Sanitize(), err)
		}
		b.WriteString(strings.Join(table, ".") + ": " + strconv.FormatInt(n, 10) + " rows " + digest + "\n")
	}
	return b.String()
}

// Settled waits until what the system does on its own after the test's
// requests (relays emptying outboxes, handlers, the mailer) is done, the
// data reading the same twice a while apart, and returns that snapshot.
func (s *System) Settled(t testing.TB) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	last := s.Snapshot(t)
	for {
		time.Sleep(300 * time.Millisecond)
		now := s.Snapshot(t)
		if now == last {
			return now
		}
		if time.Now().After(deadline) {
			t.Fatalf("apptest: the data did not settle within 15s:\n%s", diffLines(last, now))
		}
		last = now
	}
}
