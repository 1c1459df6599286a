package mail_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/mail"
)

// notificationsSchema opens a schema with the platform's tables in a fresh
// database, closed when t ends.
func notificationsSchema(t *testing.T) *database.DB {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, apptest.FreshDatabase(t), "mailer", database.PoolOptions{MaxOpen: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := database.Migrate(ctx, db, database.PlatformMigrations(), database.PlatformTable); err != nil {
		t.Fatal(err)
	}
	return db
}

// run runs d until t ends, and fails t if it does not stop promptly then.
func run(t *testing.T, d *mail.Dispatcher) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the dispatcher did not stop within 10s of its context's end")
		}
	})
}

func enqueue(t *testing.T, db *database.DB, owner string, ms ...mail.Message) {
	t.Helper()
	err := db.Transact(context.Background(), func(tx *gorm.DB) error {
		for _, m := range ms {
			if err := mail.Enqueue(tx.Statement.Context, tx, owner, m); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

type row struct {
	Recipient string
	Status    string
	Attempts  int
	LastError string
	SentAt    *time.Time
}

func rows(t *testing.T, db *database.DB) []row {
	t.Helper()
	var out []row
	if err := db.Raw(`SELECT recipient, status, attempts, last_error, sent_at FROM notifications ORDER BY recipient`).
		Scan(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

// The development mailer logs emails without sending them: the dispatcher
// marks them recorded, never sent.
func TestDispatcherMarksWhatTheRecorderKeptRecorded(t *testing.T) {
	db := notificationsSchema(t)
	rec := mail.NewRecorder(apptest.Logger(t))
	run(t, mail.NewDispatcher("mailer", db, rec, apptest.Logger(t)))

	enqueue(t, db, "owner-1", mail.Message{To: "ann@example.com", Subject: "Deposit received", Body: "Hello"})
	var list []mail.Notification
	apptest.Eventually(t, 5*time.Second, "the email handled", func() bool {
		var err error
		if list, err = mail.List(context.Background(), db.DB, "owner-1"); err != nil {
			t.Fatal(err)
		}
		return len(list) == 1 && list[0].Status != mail.StatusPending
	})
	if n := list[0]; n.Status != mail.StatusRecorded || n.SentAt == nil {
		t.Errorf("the recorded email: %+v, want status %q and the time it was recorded", n, mail.StatusRecorded)
	}
	if sent := rec.Sent(); len(sent) != 1 || sent[0].To != "ann@example.com" {
		t.Errorf("the recorder kept %v, want the one email to ann@example.com", sent)
	}
}
