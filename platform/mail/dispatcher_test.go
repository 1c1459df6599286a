package mail_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/mail"
	"github.com/uberservice/uberservice/platform/page"
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

// switchingSender sends through the SMTP server at whichever address it was
// last given, as a deployment does once its mail relay is replaced.
type switchingSender struct{ addr atomic.Pointer[string] }

func (s *switchingSender) to(addr string) { s.addr.Store(&addr) }

func (s *switchingSender) Send(ctx context.Context, m mail.Message) error {
	return (&mail.SMTP{Addr: *s.addr.Load(), From: "noreply@uberservice.test"}).Send(ctx, m)
}

// A mail server that stalls costs each email one attempt bounded by the send
// timeout: the attempt counts as a failure, the email waits for its retry,
// the dispatcher goes on to the next one, and once a server answers again
// every email is sent.
func TestDispatcherRetriesEmailsAStalledServerHeld(t *testing.T) {
	db := notificationsSchema(t)
	stalled, _, hangups := smtpServer(t, "MAIL FROM")
	working, received, _ := smtpServer(t, "")
	sender := &switchingSender{}
	sender.to(stalled)
	d := mail.NewDispatcher("mailer", db, sender, apptest.Logger(t)).SendTimeout(200 * time.Millisecond)
	run(t, d)

	start := time.Now()
	enqueue(t, db, "owner-1",
		mail.Message{To: "ann@example.com", Subject: "First", Body: "one"},
		mail.Message{To: "bob@example.com", Subject: "Second", Body: "two"})
	var got []row
	apptest.Eventually(t, 5*time.Second, "both emails attempted once", func() bool {
		got = rows(t, db)
		return len(got) == 2 && got[0].Attempts == 1 && got[1].Attempts == 1
	})
	for _, r := range got {
		if r.Status != mail.StatusPending || r.SentAt != nil || !strings.Contains(r.LastError, "deadline exceeded") {
			t.Errorf("after a stalled attempt, %+v: want pending, unsent, with the timeout as its last error", r)
		}
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("two attempts of 200ms took %s", took)
	}
	for range 2 {
		select {
		case <-hangups:
		case <-time.After(2 * time.Second):
			t.Fatal("the dispatcher left a connection to the stalled server open")
		}
	}

	sender.to(working)
	// The first retry comes after the backoff of one failure (2s).
	apptest.Eventually(t, 10*time.Second, "both emails sent through the working server", func() bool {
		got = rows(t, db)
		return got[0].Status == mail.StatusSent && got[1].Status == mail.StatusSent
	})
	for _, r := range got {
		if r.Attempts != 2 || r.SentAt == nil {
			t.Errorf("after a stalled attempt and a good one, %+v: want 2 attempts and a sent_at", r)
		}
	}
	for _, to := range []string{"ann@example.com", "bob@example.com"} {
		select {
		case transcript := <-received:
			if !strings.Contains(transcript, "RCPT TO:<") {
				t.Errorf("the working server received no recipient:\n%s", transcript)
			}
		case <-time.After(2 * time.Second):
			t.Fatalf("the working server did not receive the email to %s", to)
		}
	}
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
		p, err := mail.List(context.Background(), db.DB, "owner-1", page.Request{})
		if err != nil {
			t.Fatal(err)
		}
		list = p.Items
		return len(list) == 1 && list[0].Status != mail.StatusPending
	})
	if n := list[0]; n.Status != mail.StatusRecorded || n.SentAt == nil {
		t.Errorf("the recorded email: %+v, want status %q and the time it was recorded", n, mail.StatusRecorded)
	}
	if sent := rec.Sent(); len(sent) != 1 || sent[0].To != "ann@example.com" {
		t.Errorf("the recorder kept %v, want the one email to ann@example.com", sent)
	}
}
