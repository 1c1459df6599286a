package database

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// ForkTable is the table Fork leaves in the schema it filled: its one row
// says when, and that a second Fork has nothing to do.
const ForkTable = "shadow_fork"

// Fork fills schema to, freshly migrated, with the rows of schema from, in
// the database of adminURL, once: a shadow of a module starts from the live
// module's state (its managers, its links, the inbox of the events it
// handled) rather than from nothing, and from then on handles the events
// the live one handles. Only the tables both schemas have are copied, by the
// columns both have, parents before the tables whose foreign keys point at
// them; the tables of skip are left empty. owner is the role to's objects
// belong to; ForkTable is given to it too.
func Fork(ctx context.Context, adminURL, from, to, owner string, skip []string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("database: connect to %s: %w", Redact(adminURL), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('uberservice fork '||$1, 0))", to); err != nil {
			return fmt.Errorf("database: lock schema %s: %w", to, err)
		}
		var forked bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass(format('%I.%I', $1::text, $2::text)) IS NOT NULL`, to, ForkTable).Scan(&forked); err != nil {
			return fmt.Errorf("database: look up %s.%s: %w", to, ForkTable, err)
		}
		if forked {
			return nil
		}
		tables, err := forkOrder(ctx, tx, from, to)
		if err != nil {
			return err
		}
		for _, t := range tables {
			if slices.Contains(skip, t) {
				continue
			}
			if err := copyTable(ctx, tx, from, to, t); err != nil {
				return err
			}
		}
		marker := pgx.Identifier{to, ForkTable}.Sanitize()
		for _, stmt := range []string{
			"CREATE TABLE " + marker + " (forked_from text NOT NULL, forked_at timestamptz NOT NULL DEFAULT now())",
			"INSERT INTO " + marker + " (forked_from) VALUES (" + quoteLiteral(from) + ")",
			"ALTER TABLE " + marker + " OWNER TO " + pgx.Identifier{owner}.Sanitize(),
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("database: mark schema %s forked: %w", to, err)
			}
		}
		return nil
	})
}

// forkOrder lists the tables both schemas have, each after those its foreign
// keys in from point at.
func forkOrder(ctx context.Context, tx pgx.Tx, from, to string) ([]string, error) {
	rows, err := tx.Query(ctx, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
		  AND to_regclass(format('%I.%I', $2::text, c.relname)) IS NOT NULL
		ORDER BY c.relname`, from, to)
	if err != nil {
		return nil, fmt.Errorf("database: tables of %s: %w", from, err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("database: tables of %s: %w", from, err)
	}
	parents := map[string][]string{}
	rows, err = tx.Query(ctx, `SELECT c.relname, p.relname FROM pg_constraint k
		JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE k.contype = 'f' AND n.nspname = $1 AND c.oid <> p.oid`, from)
	if err != nil {
		return nil, fmt.Errorf("database: foreign keys of %s: %w", from, err)
	}
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			rows.Close()
			return nil, err
		}
		parents[child] = append(parents[child], parent)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("database: foreign keys of %s: %w", from, err)
	}
	var order []string
	done, visiting := map[string]bool{}, map[string]bool{}
	var visit func(t string) error
	visit = func(t string) error {
		if done[t] {
			return nil
		}
		if visiting[t] {
			return errors.New("database: foreign keys of " + from + " form a cycle through " + t)
		}
		visiting[t] = true
		for _, p := range parents[t] {
			if slices.Contains(tables, p) {
				if err := visit(p); err != nil {
					return err
				}
			}
		}
		done[t] = true
		order = append(order, t)
		return nil
	}
	for _, t := range tables {
		if err := visit(t); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// copyTable copies table's rows from one schema to the other, by the
// columns both have that may be written.
func copyTable(ctx context.Context, tx pgx.Tx, from, to, table string) error {
	rows, err := tx.Query(ctx, `SELECT a.attname FROM pg_attribute a
		WHERE a.attrelid = to_regclass(format('%I.%I', $1::text, $3::text)) AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
		  AND EXISTS (SELECT 1 FROM pg_attribute b WHERE b.attrelid = to_regclass(format('%I.%I', $2::text, $3::text))
			AND b.attname = a.attname AND b.attnum > 0 AND NOT b.attisdropped AND b.attgenerated = '')
		ORDER BY a.attnum`, from, to, table)
	if err != nil {
		return fmt.Errorf("database: columns of %s: %w", table, err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("database: columns of %s: %w", table, err)
	}
	if len(cols) == 0 {
		return nil
	}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = pgx.Identifier{c}.Sanitize()
	}
	list := strings.Join(quoted, ", ")
	stmt := fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s", pgx.Identifier{to, table}.Sanitize(), list, list,
		pgx.Identifier{from, table}.Sanitize())
	if _, err := tx.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("database: copy %s from %s to %s: %w", table, from, to, err)
	}
	return nil
}
