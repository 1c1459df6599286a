package database

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Each module is a login role of its own that owns the module's schema and
// has no privilege on any other: Postgres, not only search_path, keeps a
// module out of another's tables. Roles are cluster-wide and databases are
// not, so a module's role is per (database, module): RoleName.

// RoleName is the role module's schema belongs to in database dbName:
// "<database>_<module>" (uberservice_accounts for the default database),
// shortened with a hash of the database's name when that would pass
// Postgres' 63-byte limit on names.
func RoleName(dbName, module string) string {
	name := dbName + "_" + module
	if len(name) <= 63 {
		return name
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(dbName))
	suffix := fmt.Sprintf("_%08x_%s", h.Sum32(), module)
	if keep := 63 - len(suffix); keep > 0 {
		return dbName[:keep] + suffix
	}
	_, _ = h.Write([]byte("_" + module))
	return fmt.Sprintf("uberservice_%08x", h.Sum32())
}

// DatabaseName is the database rawURL connects to: its path, or, as libpq
// defaults it, its user's name.
func DatabaseName(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("database: %q is not a postgres:// URL", Redact(rawURL))
	}
	if name := strings.TrimPrefix(u.Path, "/"); name != "" {
		return name, nil
	}
	if u.User != nil && u.User.Username() != "" {
		return u.User.Username(), nil
	}
	return "postgres", nil
}

// AsRole returns rawURL with its credentials replaced by role's (no password
// when password is empty: the server must trust the role, as a laptop's
// Postgres and the embedded one do).
func AsRole(rawURL, role, password string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", fmt.Errorf("database: %q is not a postgres:// URL", Redact(rawURL))
	}
	if password == "" {
		u.User = url.User(role)
	} else {
		u.User = url.UserPassword(role, password)
	}
	return u.String(), nil
}

// Role is a module's role, as ProvisionRole makes it.
type Role struct {
	Name     string
	Password string // set (or reset) when not empty
	Schema   string // the schema it owns
	Module   string // for the role's comment
}

// roleComment marks the roles the system made for the database dbName, so
// that DropRoles finds them once the database is gone.
func roleComment(dbName, module string) string {
	return fmt.Sprintf("uberservice: module %s in database %s", module, dbName)
}

// ProvisionRole makes r own its schema in the database of adminURL, as a
// role of the system's, connecting as adminURL's role (a superuser, or one
// with CREATEROLE that may create the schema):
//   - it creates r as a login role when it is missing, with r.Password, and
//     otherwise sets its password to r.Password when one is given (a role
//     the admin may not alter keeps its own);
//   - it creates the schema owned by r, or gives it to r, with every table,
//     sequence, view, type and function in it (a schema that the admin role
//     made and owns, as every schema was before roles, changes hands here);
//   - no privilege on any other schema is granted, and CREATE on public is
//     revoked from PUBLIC where it is still granted (Postgres before 15).
//
// It runs in one transaction under an advisory lock of the role's, so that
// processes migrating at once (every init container of a deployment) take
// turns.
func ProvisionRole(ctx context.Context, adminURL string, r Role) error {
	if !schemaName.MatchString(r.Schema) {
		return fmt.Errorf("database: invalid schema name %q", r.Schema)
	}
	dbName, err := DatabaseName(adminURL)
	if err != nil {
		return err
	}
	conn, err := connectOnce(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("database: connect to %s: %w", Redact(adminURL), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := revokePublicCreate(ctx, conn); err != nil {
		return err
	}
	role, schema := pgx.Identifier{r.Name}.Sanitize(), pgx.Identifier{r.Schema}.Sanitize()
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('uberservice role '||$1, 0))", r.Name); err != nil {
			return fmt.Errorf("database: lock role %s: %w", r.Name, err)
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)`, r.Name).Scan(&exists); err != nil {
			return fmt.Errorf("database: look up role %s: %w", r.Name, err)
		}
		switch {
		case !exists:
			stmt := "CREATE ROLE " + role + " LOGIN"
			if r.Password != "" {
				stmt += " PASSWORD " + quoteLiteral(r.Password)
			}
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("database: create role %s as %s: %w: give the shared database URL a role with CREATEROLE, "+
					"or create the role by hand (CREATE ROLE %s LOGIN PASSWORD '...')", r.Name, userOf(adminURL), err, role)
			}
			comment := "COMMENT ON ROLE " + role + " IS " + quoteLiteral(roleComment(dbName, r.Module))
			if _, err := tx.Exec(ctx, comment); err != nil {
				return fmt.Errorf("database: comment on role %s: %w", r.Name, err)
			}
			slog.InfoContext(ctx, "created role", "role", r.Name, "database", dbName)
		case r.Password != "":
			// Reset it, so that a password changed in the module's URL takes
			// effect; an admin that may not alter the role leaves it be, and
			// the module's connection says whether the password is right.
			if _, err := tx.Exec(ctx, "SAVEPOINT password"); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, "ALTER ROLE "+role+" PASSWORD "+quoteLiteral(r.Password)); err != nil {
				if !hasCode(err, "42501") {
					return fmt.Errorf("database: set the password of role %s: %w", r.Name, err)
				}
				if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT password"); err != nil {
					return err
				}
			}
		}
		// CREATE SCHEMA IF NOT EXISTS would ask for CREATE on the database
		// even when the schema exists.
		var owner *string
		err := tx.QueryRow(ctx, `SELECT pg_get_userbyid(nspowner) FROM pg_namespace WHERE nspname = $1`, r.Schema).Scan(&owner)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("database: look up schema %s: %w", r.Schema, err)
		}
		var others []object
		if owner != nil {
			if others, err = ownedByOthers(ctx, tx, r.Schema, r.Name); err != nil {
				return err
			}
			if *owner == r.Name && len(others) == 0 {
				// Provisioned already: nothing here needs more than reading
				// the catalogue, so a `run` whose shared URL is not an
				// administrator's gets this far.
				return nil
			}
		}
		var member bool
		if err := tx.QueryRow(ctx, `SELECT rolsuper OR pg_has_role(current_user, $1, 'MEMBER') FROM pg_roles WHERE rolname = current_user`,
			r.Name).Scan(&member); err != nil {
			return fmt.Errorf("database: look up role %s: %w", r.Name, err)
		}
		if !member {
			// Giving an object to a role takes being able to become it.
			if _, err := tx.Exec(ctx, "GRANT "+role+" TO CURRENT_USER"); err != nil {
				return fmt.Errorf("database: grant role %s to %s: %w", r.Name, userOf(adminURL), err)
			}
		}
		switch {
		case owner == nil:
			if _, err := tx.Exec(ctx, "CREATE SCHEMA "+schema+" AUTHORIZATION "+role); err != nil {
				return fmt.Errorf("database: create schema %s: %w", r.Schema, err)
			}
			return nil
		case *owner != r.Name:
			if _, err := tx.Exec(ctx, "ALTER SCHEMA "+schema+" OWNER TO "+role); err != nil {
				return fmt.Errorf("database: give schema %s to role %s: %w", r.Schema, r.Name, err)
			}
			slog.InfoContext(ctx, "gave a schema to its role", "schema", r.Schema, "role", r.Name, "owner_was", *owner)
		}
		for _, o := range others {
			if _, err := tx.Exec(ctx, "ALTER "+o.kind+" "+o.name+" OWNER TO "+role); err != nil {
				return fmt.Errorf("database: give %s to role %s: %w", o.name, r.Name, err)
			}
		}
		if len(others) > 0 {
			slog.InfoContext(ctx, "gave a schema's objects to its role", "schema", r.Schema, "role", r.Name, "objects", len(others))
		}
		return nil
	})
}

// Provisioned reports whether ProvisionRole has been through d's schema:
// the schema is owned by role, the one d connects as, and PUBLIC may not
// create in schema public. It reads the catalogue over d's own connection,
// which any role may, so that a start-up after the first needs no
// administrator's connection (a connection and two transactions a module).
// It does not list what the schema holds, as ProvisionRole does: once the
// schema is the role's, the role's migrations make everything in it, and
// listing every function and type of the database would cost a cold
// connection more than the rest of its start-up.
func Provisioned(ctx context.Context, d *DB, role string) (bool, error) {
	var ok bool
	err := d.WithContext(ctx).Raw(`SELECT coalesce((SELECT nspowner = (SELECT oid FROM pg_roles WHERE rolname = $2)
			FROM pg_namespace WHERE nspname = $1), false)
		AND NOT `+publicMayCreate, d.Schema, role).Row().Scan(&ok)
	if err != nil {
		return false, fmt.Errorf("database: look up the owner of schema %s: %w", d.Schema, err)
	}
	return ok, nil
}

// object is something in a schema, as ALTER names it: its kind and its
// qualified name.
type object struct{ kind, name string }

// ownedByOthers lists what in schema another role than role owns; the
// namespace is compared by oid, so that Postgres filters pg_proc and
// pg_type by it as it scans them rather than join every function and type
// of the database first (a tenth of a start-up, otherwise). Indexes
// and the sequences of serial and identity columns follow their tables,
// and array types their element types, so they are not listed.
func ownedByOthers(ctx context.Context, tx pgx.Tx, schema, role string) ([]object, error) {
	rows, err := tx.Query(ctx, `
		SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
			WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
			format('%I.%I', n.nspname, c.relname)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = $1 AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = $2)
		  AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
		  AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d
			WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
			  AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')))
		UNION ALL
		SELECT 'ROUTINE', format('%I.%I(%s)', n.nspname, p.proname, pg_get_function_identity_arguments(p.oid))
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
		  AND p.proowner <> (SELECT oid FROM pg_roles WHERE rolname = $2)
		UNION ALL
		SELECT CASE t.typtype WHEN 'd' THEN 'DOMAIN' ELSE 'TYPE' END, format('%I.%I', n.nspname, t.typname)
		FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
		WHERE t.typnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)
		  AND t.typowner <> (SELECT oid FROM pg_roles WHERE rolname = $2)
		  AND (t.typtype IN ('d', 'e', 'r')
			OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))`,
		schema, role)
	if err != nil {
		return nil, fmt.Errorf("database: list what schema %s holds: %w", schema, err)
	}
	objects, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (object, error) {
		var o object
		err := row.Scan(&o.kind, &o.name)
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("database: list what schema %s holds: %w", schema, err)
	}
	return objects, nil
}

// connectOnce connects to rawURL for a few statements run once each, as
// provisioning runs them at every start: over the simple protocol, one
// round trip a statement, where preparing each first would cost two for a
// statement never run again on that connection.
func connectOnce(ctx context.Context, rawURL string) (*pgx.Conn, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, err
	}
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	return pgx.ConnectConfig(ctx, cfg)
}

// publicMayCreate is the SQL condition that PUBLIC may create in schema
// public, which revokePublicCreate revokes.
const publicMayCreate = `EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
	WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE')`

// revokePublicCreate revokes CREATE on schema public from PUBLIC, as
// Postgres 15 and later do for a new database, so that no module may create
// tables outside its schema. USAGE stays: it lets a module call what an
// extension installed there, and no table in public is anybody's but its
// owner's. An admin that does not own public leaves it be.
func revokePublicCreate(ctx context.Context, conn *pgx.Conn) error {
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// Modules migrate at once, and concurrent grants on one schema fail.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('uberservice schema public', 0))"); err != nil {
			return err
		}
		var granted bool
		err := tx.QueryRow(ctx, `SELECT `+publicMayCreate).Scan(&granted)
		if err != nil || !granted {
			return err
		}
		_, err = tx.Exec(ctx, "REVOKE CREATE ON SCHEMA public FROM PUBLIC")
		return err
	})
	if err != nil && !hasCode(err, "42501") {
		return fmt.Errorf("database: revoke CREATE on schema public: %w", err)
	}
	return nil
}

// DropRoles drops the roles ProvisionRole made for the database dbName on
// the server of adminURL; drop the database first, or the roles still own
// its schemas. Tests call it, as the roles would otherwise outlive their
// databases on a server shared by thousands of them.
func DropRoles(ctx context.Context, adminURL, dbName string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("database: connect to %s: %w", Redact(adminURL), err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT r.rolname FROM pg_roles r
		JOIN pg_shdescription d ON d.objoid = r.oid AND d.classoid = 'pg_authid'::regclass
		WHERE d.description LIKE 'uberservice: module %'
		  AND right(d.description, length($1) + 13) = ' in database ' || $1`, dbName)
	if err != nil {
		return fmt.Errorf("database: roles of %s: %w", dbName, err)
	}
	roles, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("database: roles of %s: %w", dbName, err)
	}
	for _, r := range roles {
		if _, err := conn.Exec(ctx, "DROP ROLE IF EXISTS "+pgx.Identifier{r}.Sanitize()); err != nil {
			return fmt.Errorf("database: drop role %s: %w", r, err)
		}
	}
	return nil
}

// DropDatabase drops the database dbName on the server of adminURL, forcing
// out its connections, and then the roles ProvisionRole made for it.
func DropDatabase(ctx context.Context, adminURL, dbName string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("database: connect to %s: %w", Redact(adminURL), err)
	}
	_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{dbName}.Sanitize()+" WITH (FORCE)")
	_ = conn.Close(context.WithoutCancel(ctx))
	if err != nil {
		return fmt.Errorf("database: drop database %s: %w", dbName, err)
	}
	return DropRoles(ctx, adminURL, dbName)
}

// quoteLiteral quotes s as an SQL string literal (standard_conforming_strings
// is on, as it has been by default since Postgres 9.1).
func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func userOf(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		return "the URL's role"
	}
	return fmt.Sprintf("role %q", u.User.Username())
}
