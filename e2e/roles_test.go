package e2e

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/uberservice/uberservice/internal/cluster"
	"github.com/uberservice/uberservice/platform/database"
)

// rolesSuite holds the database to the modules' boundaries: every module
// that keeps data runs as a role of its own, which owns everything in its
// schema; and as accounts' role, another module's tables are out of reach,
// and so is schema public, while accounts' own tables, platform tables
// included, are not.
func rolesSuite(t *testing.T, c *cluster.Cluster) {
	ctx := t.Context()
	dbName, err := database.DatabaseName(c.DatabaseURL())
	must(t, err)
	admin, err := pgx.Connect(ctx, c.DatabaseURL())
	must(t, err)
	defer admin.Close(ctx)
	for _, m := range catalogue.Modules {
		if !m.Database {
			continue
		}
		role := database.RoleName(dbName, m.Name)
		var sessions, strangers int
		err := admin.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE usename <> $2)
			FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'uberservice-' || $1`,
			m.Name, role).Scan(&sessions, &strangers)
		must(t, err)
		if sessions == 0 || strangers != 0 {
			t.Errorf("module %s: %d of its %d connections are not role %s", m.Name, strangers, sessions, role)
		}
		rows, err := admin.Query(ctx, `
			SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'S') AND pg_get_userbyid(c.relowner) <> $2
			UNION ALL SELECT '(the schema)' FROM pg_namespace WHERE nspname = $1 AND pg_get_userbyid(nspowner) <> $2`,
			m.Name, role)
		must(t, err)
		others, err := pgx.CollectRows(rows, pgx.RowTo[string])
		must(t, err)
		if len(others) != 0 {
			t.Errorf("module %s: %v are not role %s's", m.Name, others, role)
		}
	}

	asAccounts, err := database.AsRole(c.DatabaseURL(), database.RoleName(dbName, "accounts"), "")
	must(t, err)
	conn, err := pgx.Connect(ctx, asAccounts)
	must(t, err)
	defer conn.Close(ctx)
	for _, stmt := range []string{
		"SELECT * FROM im.managers",
		"INSERT INTO orders.orders DEFAULT VALUES",
		"SELECT * FROM warehouse.outbox",
		"CREATE TABLE public.x (id int)",
	} {
		_, err := conn.Exec(ctx, stmt)
		var pg *pgconn.PgError
		if !errors.As(err, &pg) || pg.Code != "42501" {
			t.Errorf("%s as accounts' role: %v, want permission denied (42501)", stmt, err)
		}
	}
	for _, stmt := range []string{
		"SELECT count(*) FROM accounts.accounts",
		"SELECT count(*) FROM accounts.outbox",
		"SELECT count(*) FROM accounts.idempotency_keys",
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Errorf("%s as accounts' role: %v", stmt, err)
		}
	}
}
