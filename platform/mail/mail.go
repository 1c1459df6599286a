// Package mail sends a module's emails without ever losing one between the
// business transaction and the send.
//
// A module enqueues an email in its notifications table inside the transaction
// that causes it; a Dispatcher, nudged on commit, sends pending emails through a
// Sender and records the outcome. The same table answers "which emails did this
// customer get", with each email's status.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/page"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/worker"
)

// Message is one email.
type Message struct {
	To      string
	Subject string
	Body    string
}

// Sender delivers an email.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Deliverer is implemented by a Sender that may not deliver what it accepts.
// When Delivers reports false, as the Recorder's does, the dispatcher marks
// the emails the sender accepted StatusRecorded rather than StatusSent, so
// that nobody reads an email that was only logged as one that left. A Sender
// that does not implement it delivers.
type Deliverer interface {
	Delivers() bool
}

// The statuses of an email in the notifications table.
const (
	StatusPending  = "pending"  // waiting for its first or next attempt
	StatusSent     = "sent"     // handed to the mail server
	StatusRecorded = "recorded" // accepted by a sender that does not deliver (--mail-url log)
	StatusFailed   = "failed"   // given up after the dispatcher's last attempt
)

// NewSender returns the sender configured by rawURL:
//   - "" or "log": the development default, a Recorder that logs each email
//     and keeps it in memory instead of sending it;
//   - "smtp://user:password@host:port?from=noreply@example.com": an SMTP relay
//     (STARTTLS when the server offers it; credentials optional).
func NewSender(rawURL string, log *slog.Logger) (Sender, error) {
	if rawURL == "" || rawURL == "log" || rawURL == "log://" {
		return NewRecorder(log), nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("mail: parse URL: %w", err)
	}
	if u.Scheme != "smtp" {
		return nil, fmt.Errorf("mail: unsupported mail URL scheme %q (want smtp:// or log)", u.Scheme)
	}
	from := u.Query().Get("from")
	if from == "" {
		from = "uberservice@localhost"
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "25")
	}
	s := &SMTP{Addr: host, From: from}
	if u.User != nil {
		pw, _ := u.User.Password()
		s.Auth = smtp.PlainAuth("", u.User.Username(), pw, u.Hostname())
	}
	return s, nil
}

// SMTP sends through an SMTP server, one connection per email.
//
// Send is bounded by its context alone: the dial, the STARTTLS handshake and
// every command fail once the context is done, so a server that accepts a
// connection and then stalls costs the caller no more than the time it gave.
// Give it a context with a deadline (the Dispatcher does).
type SMTP struct {
	Addr string
	From string
	Auth smtp.Auth
}

// Send implements Sender. It speaks the protocol as smtp.SendMail does
// (STARTTLS when the server offers it, then AUTH when credentials are set),
// over a connection that ctx closes: net/smtp itself never times out. An
// email the server accepted counts as sent even if the QUIT after it fails,
// since failing it would have it sent again.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	if err := s.send(ctx, m); err != nil {
		if ctx.Err() != nil {
			// The connection was closed under the command: say why.
			err = fmt.Errorf("%w (%w)", context.Cause(ctx), err)
		}
		return fmt.Errorf("mail: smtp send to %s via %s: %w", m.To, s.Addr, err)
	}
	return nil
}

func (s *SMTP) send(ctx context.Context, m Message) error {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("server address: %w", err)
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	// Closing the connection is what ends a read or write that is blocked, the
	// TLS handshake's included, when ctx expires or is cancelled.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("greeting: %w", err)
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return fmt.Errorf("EHLO: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host}); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if s.Auth != nil {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("the server does not offer AUTH, and credentials are configured")
		}
		if err := c.Auth(s.Auth); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	if err := c.Mail(s.From); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return fmt.Errorf("RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(s.message(m)); err != nil {
		return fmt.Errorf("write message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("end of message: %w", err)
	}
	// The server has accepted the email: a QUIT that fails now must not make
	// the dispatcher send it a second time.
	_ = c.Quit()
	return nil
}

// message is m as the text that follows DATA.
func (s *SMTP) message(m Message) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\n", s.From, m.To, m.Subject, time.Now().UTC().Format(time.RFC1123Z))
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString(strings.ReplaceAll(m.Body, "\n", "\r\n"))
	return []byte(b.String())
}

// Recorder records emails instead of sending them: it logs each one and keeps
// the most recent in memory, for development and tests.
type Recorder struct {
	log  *slog.Logger
	mu   sync.Mutex
	sent []Message
}

// NewRecorder returns an empty recorder.
func NewRecorder(log *slog.Logger) *Recorder { return &Recorder{log: log} }

// Send implements Sender.
func (r *Recorder) Send(ctx context.Context, m Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sent) >= 1000 {
		r.sent = r.sent[1:]
	}
	r.sent = append(r.sent, m)
	r.log.InfoContext(ctx, "email recorded (not sent)", "to", m.To, "subject", m.Subject)
	return nil
}

// Delivers implements Deliverer: a recorder never delivers.
func (r *Recorder) Delivers() bool { return false }

// Sent returns the recorded emails, oldest first.
func (r *Recorder) Sent() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.sent...)
}

// Notification is an email as the module recorded it.
type Notification struct {
	ID        uuid.UUID  `json:"id"`
	To        string     `json:"to" gorm:"column:recipient"`
	Subject   string     `json:"subject"`
	Status    string     `json:"status"` // pending, sent, recorded or failed: see StatusPending
	CreatedAt time.Time  `json:"created_at"`
	SentAt    *time.Time `json:"sent_at,omitempty"` // when it was sent or recorded
}

// Enqueue records m, about the entity ownerRef (an account, a manager), for
// sending once tx commits.
func Enqueue(ctx context.Context, tx *gorm.DB, ownerRef string, m Message) error {
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("mail: notification id: %w", err)
	}
	// Deferred to the commit, which carries it in its round trip.
	err = database.Defer(tx, notificationsTable, `INSERT INTO notifications (id, owner_ref, recipient, subject, body, status)
		VALUES ($1, $2, $3, $4, $5, 'pending')`, id, ownerRef, m.To, m.Subject, m.Body)
	if err != nil {
		return fmt.Errorf("mail: enqueue email to %s: %w", m.To, err)
	}
	return nil
}

// notificationsTable is the table Enqueue writes to and the dispatcher reads.
const notificationsTable = "notifications"

// notificationOrder is the order of a list of emails: by the time they were
// enqueued, newest first, and by id among those of one instant.
var notificationOrder = page.NewKeyset("mail.notifications", page.Time("created_at"), page.UUID("id"))

// List returns one page of the emails about ownerRef, newest first.
func List(ctx context.Context, db *gorm.DB, ownerRef string, req page.Request) (page.Page[Notification], error) {
	q := db.WithContext(ctx).Table(notificationsTable).
		Select("id, recipient, subject, status, created_at, sent_at").Where("owner_ref = ?", ownerRef)
	p, err := page.Find(q, notificationOrder, req, func(n Notification) []any { return []any{n.CreatedAt, n.ID} })
	return p, problem.Wrapf(err, "mail: list notifications")
}

// Dispatcher sends a module's pending emails.
type Dispatcher struct {
	db          *database.DB
	sender      Sender
	log         *slog.Logger
	loop        *worker.Loop
	maxAttempts int
	sendTimeout time.Duration
	// accepted is the status of an email the sender accepted: StatusSent, or
	// StatusRecorded for a sender that does not deliver.
	accepted string
}

// DefaultSendTimeout bounds one attempt at one email. It is generous for a
// mail server that answers, and keeps one that stalls from holding the
// dispatcher, and every email behind it, for longer.
const DefaultSendTimeout = 30 * time.Second

// NewDispatcher returns a dispatcher for db's notifications, nudged after every
// commit on db.
func NewDispatcher(module string, db *database.DB, sender Sender, log *slog.Logger) *Dispatcher {
	d := &Dispatcher{db: db, sender: sender, log: log, maxAttempts: 8, sendTimeout: DefaultSendTimeout, accepted: StatusSent}
	if dv, ok := sender.(Deliverer); ok && !dv.Delivers() {
		d.accepted = StatusRecorded
	}
	// Email can wait a few milliseconds: settling turns the nudges of a busy
	// module's commits into one round per batch rather than a round each.
	d.loop = worker.New(module+".mail", d.step, 30*time.Second, log).Settle(mailSettle)
	db.AfterCommit(notificationsTable, d.loop.Nudge)
	return d
}

// SendTimeout sets how long one attempt at one email may take (default
// DefaultSendTimeout): an attempt that runs out of time fails, and the email is
// retried with the usual backoff. It returns d, and must be called before Run.
func (d *Dispatcher) SendTimeout(t time.Duration) *Dispatcher {
	if t > 0 {
		d.sendTimeout = t
	}
	return d
}

// Run sends until ctx is cancelled, then sends what is already due.
func (d *Dispatcher) Run(ctx context.Context) { d.loop.Run(ctx, 5*time.Second) }

type pending struct {
	ID        uuid.UUID
	Recipient string
	Subject   string
	Body      string
	Attempts  int
}

// mailSettle is how long the dispatcher lets a nudge wait for company.
const mailSettle = 20 * time.Millisecond

// mailBatch is how many emails one round claims.
const mailBatch = 100

// step sends one batch. Each email is claimed with SKIP LOCKED, so several
// instances of a module never send the same email twice.
//
// The claim holds the batch's rows until the round commits, so an attempt that
// runs out of time ends the round: the emails after it stay pending, untouched,
// for the next round, instead of each costing a timeout inside this
// transaction while the server stalls.
func (d *Dispatcher) step(ctx context.Context) (time.Duration, error) {
	claimed := 0
	err := d.db.Transact(database.Ahead(ctx), func(tx *gorm.DB) error {
		var rows []pending
		if err := tx.Raw(`SELECT id, recipient, subject, body, attempts FROM notifications
			WHERE status = 'pending' AND next_attempt_at <= now()
			ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED`, mailBatch).Find(&rows).Error; err != nil {
			return fmt.Errorf("read pending emails: %w", err)
		}
		sent := make([]uuid.UUID, 0, len(rows))
		for _, p := range rows {
			sendCtx, cancel := context.WithTimeout(ctx, d.sendTimeout)
			err := d.sender.Send(sendCtx, Message{To: p.Recipient, Subject: p.Subject, Body: p.Body})
			timedOut := sendCtx.Err() != nil
			cancel()
			if err == nil {
				sent = append(sent, p.ID)
				continue
			}
			attempts := p.Attempts + 1
			status := StatusPending
			if attempts >= d.maxAttempts {
				status = StatusFailed
			}
			delay := time.Duration(1<<min(attempts, 10)) * time.Second
			d.log.WarnContext(ctx, "email send failed", "to", p.Recipient, "attempt", attempts, "error", err)
			if err := tx.Exec(`UPDATE notifications SET status = ?, attempts = ?, last_error = ?,
				next_attempt_at = now() + make_interval(secs => ?) WHERE id = ?`,
				status, attempts, database.StorableText(err.Error()), delay.Seconds(), p.ID).Error; err != nil {
				return fmt.Errorf("record failed email %s: %w", p.ID, err)
			}
			if timedOut {
				break
			}
		}
		if len(sent) > 0 {
			// One statement marks the whole batch's sent (or recorded) emails.
			// With the commit, in its round trip; it wakes nothing.
			if err := database.Defer(tx, "", `UPDATE notifications SET status = $1, attempts = attempts + 1, sent_at = now()
				WHERE id = ANY($2::uuid[])`, d.accepted, database.UUIDs(sent)); err != nil {
				return fmt.Errorf("mark %d emails %s: %w", len(sent), d.accepted, err)
			}
		}
		claimed = len(rows)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("mail: dispatch: %w", err)
	}
	if claimed == mailBatch {
		return 0, nil
	}
	var next *time.Time
	if err := d.db.WithContext(ctx).Raw(`SELECT min(next_attempt_at) FROM notifications WHERE status = 'pending'`).
		Row().Scan(&next); err != nil {
		return 0, fmt.Errorf("mail: next due email: %w", err)
	}
	if next == nil {
		return time.Hour, nil
	}
	return max(time.Until(*next), time.Millisecond), nil
}

// MaxAddressLength is RFC 5321's limit on a forward path.
const MaxAddressLength = 254

// ValidAddress accepts a bare address only: "Ann <ann@example.com>" parses,
// but is not something to store as a recipient.
func ValidAddress(s string) bool {
	if s == "" || len(s) > MaxAddressLength {
		return false
	}
	a, err := netmail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}
