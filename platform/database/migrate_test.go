package database_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/database"
)

// The platform's down migrations undo their up migrations: each step down
// leaves a schema the older binary works on, and the way back up arrives at
// the same head.
func TestPlatformMigrationsGoDownAndUpAgain(t *testing.T) {
	ctx := context.Background()
	db := openSchema(t, "platform", 2)
	if err := database.Migrate(ctx, db, database.PlatformMigrations(), database.PlatformTable); err != nil {
		t.Fatal(err)
	}
	insert := func(id, status string) error {
		return db.Exec(`INSERT INTO notifications (id, owner_ref, recipient, subject, body, status)
			VALUES (?, 'owner', 'ann@example.com', 'Hi', 'Hello', ?)`, id, status).Error
	}
	refused := func(status string) {
		t.Helper()
		var pgErr *pgconn.PgError
		if err := insert("00000000-0000-0000-0000-0000000000ff", status); !errors.As(err, &pgErr) || pgErr.Code != "23514" {
			t.Errorf("a notification %q: %v, want a check violation", status, err)
		}
	}
	status := func(id string) string {
		t.Helper()
		var s string
		if err := db.Raw(`SELECT status FROM notifications WHERE id = ?`, id).Row().Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	const recorded = "00000000-0000-0000-0000-000000000001"
	if err := insert(recorded, "recorded"); err != nil {
		t.Fatalf("a recorded notification at head: %v", err)
	}
	refused("delivered")

	m := apptest.Migrator(t, db, database.PlatformMigrations(), database.PlatformTable)
	if err := m.Steps(-1); err != nil {
		t.Fatalf("one step down: %v", err)
	}
	if got := status(recorded); got != "sent" {
		t.Errorf("a recorded email after 0002 is undone is %q, want sent, as the log mailer said before", got)
	}
	refused("recorded")

	if err := m.Down(); err != nil {
		t.Fatalf("all the way down: %v", err)
	}
	var tables int
	if err := db.Raw(`SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name <> ?`,
		db.Schema, database.PlatformTable).Row().Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if tables != 0 {
		t.Errorf("%d platform tables are left after every migration is undone", tables)
	}

	if err := database.Migrate(ctx, db, database.PlatformMigrations(), database.PlatformTable); err != nil {
		t.Fatalf("up again: %v", err)
	}
	if ok, err := database.AtHead(ctx, db, database.PlatformMigrations(), database.PlatformTable); err != nil || !ok {
		t.Fatalf("at head after going up again: %v, %v", ok, err)
	}
	if err := insert(recorded, "recorded"); err != nil {
		t.Errorf("a recorded notification after going up again: %v", err)
	}
}
