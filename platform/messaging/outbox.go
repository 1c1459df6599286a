package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/tracing"
	"github.com/uberservice/uberservice/platform/worker"
)

// Event is a payload published on a versioned topic such as
// "accounts.funds_deposited.v1". Gateways declare their events as plain structs.
// It is an alias, so that an events package can list its events (for
// app.Module.Payloads) without importing this package.
type Event = interface {
	Topic() string
}

// Metadata keys set on every message.
const (
	MetaOccurredAt = "occurred_at"
	MetaProducer   = "producer"
)

// outboxTable is the table Publish writes to and the relay reads.
const outboxTable = "outbox"

// Outbox is a module's side of the outbox: it writes the module's events in
// the transaction that makes the change they describe, and only on the topics
// the module declares it publishes. A module that publishes what it did not
// declare would reach consumers that the runtime, the deployment and the
// boundary test never heard of; the call fails instead, as consuming an
// undeclared topic fails at start-up.
type Outbox struct {
	module   string
	topics   []string
	instance string   // see SetInstance
	versions Versions // see WithVersions
}

// ErrUndeclaredTopic is the error of publishing a topic the module does not
// declare.
var ErrUndeclaredTopic = errors.New("messaging: topic not declared in the module's Publishes")

// NewOutbox returns the outbox of module, which may publish topics.
func NewOutbox(module string, topics []string) *Outbox {
	return &Outbox{module: module, topics: slices.Clone(topics)}
}

// Publish writes events to the outbox of the schema tx belongs to, in tx. An
// event on a topic the module does not declare is ErrUndeclaredTopic, and
// nothing is written.
func (o *Outbox) Publish(ctx context.Context, tx *gorm.DB, events ...Event) error {
	for _, e := range events {
		if !slices.Contains(o.topics, e.Topic()) {
			return fmt.Errorf("module %s publishes %s: %w", o.module, e.Topic(), ErrUndeclaredTopic)
		}
		if err := o.checkVersions(e); err != nil {
			return err
		}
	}
	return publish(ctx, tx, o.producer(), events...)
}

// publish writes events to the outbox of the schema tx belongs to. It must be
// called in the transaction that makes the change the events describe.
func publish(ctx context.Context, tx *gorm.DB, producer map[string]string, events ...Event) error {
	for _, e := range events {
		if err := write(ctx, tx, producer, e); err != nil {
			return err
		}
	}
	return nil
}

// write writes one event to the outbox, with the producer's metadata, the
// correlation id and, in its own span's context, the trace of the work that
// publishes it.
func write(ctx context.Context, tx *gorm.DB, producer map[string]string, e Event) (err error) {
	payload, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("messaging: encode %s: %w", e.Topic(), err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("messaging: message id: %w", err)
	}
	ctx, span := startWrite(ctx, tx, e.Topic(), id.String())
	defer func() { tracing.End(span, err) }()
	md := maps.Clone(producer)
	md[MetaOccurredAt] = time.Now().UTC().Format(time.RFC3339Nano)
	if id := correlation.ID(ctx); id != "" {
		md[correlation.MetadataKey] = id
	}
	tracing.Inject(ctx, md)
	mdJSON, err := json.Marshal(md)
	if err != nil {
		return fmt.Errorf("messaging: encode metadata: %w", err)
	}
	// Deferred to the commit: nothing in the transaction reads the row back,
	// and the commit's round trip carries it.
	if err := database.Defer(tx, outboxTable,
		"INSERT INTO outbox (message_id, topic, payload, metadata) VALUES ($1, $2, $3, $4)",
		id, e.Topic(), payload, string(mdJSON)); err != nil {
		return fmt.Errorf("messaging: write %s to outbox: %w", e.Topic(), err)
	}
	return nil
}

// Relay forwards a module's committed outbox rows to the bus, in commit order,
// and deletes each row once the bus has taken it. A crash between the two
// publishes the row again; consumers' inboxes absorb the duplicate.
type Relay struct {
	db       *database.DB
	pub      message.Publisher
	producer string
	log      *slog.Logger
	loop     *worker.Loop
	batch    int
	tp       trace.TracerProvider // nil: untraced (see SetTracerProvider)
	versions Versions             // see WithVersions

	mu     sync.Mutex
	behind bool          // the last pass succeeded and found behindAt rows or more
	passed chan struct{} // closed when a pass ends
}

// The relay holds its module's requests (see database.DB.HoldWith) while
// its last pass found behindAt rows or more waiting: each request then
// waits for the relay's next pass, or holdAtMost. A relay that fails (the
// bus is down) holds nothing: the outbox is there to take those events.
const (
	behindAt   = 192
	holdAtMost = 50 * time.Millisecond
)

// NewRelay returns a relay for db's outbox. It is nudged after every commit on
// db, and polls every idle interval only as a safety net.
func NewRelay(db *database.DB, pub message.Publisher, producer string, log *slog.Logger) *Relay {
	r := &Relay{db: db, pub: pub, producer: producer, log: log, batch: 256, passed: make(chan struct{})}
	r.loop = worker.New(producer+".outbox", r.step, 2*time.Second, log)
	db.AfterCommit(outboxTable, r.loop.Nudge)
	db.HoldWith(r.hold)
	return r
}

// hold waits, while the relay is behind, for its next pass.
func (r *Relay) hold(ctx context.Context) {
	r.mu.Lock()
	behind, passed := r.behind, r.passed
	r.mu.Unlock()
	if !behind {
		return
	}
	t := time.NewTimer(holdAtMost)
	defer t.Stop()
	select {
	case <-passed:
	case <-t.C:
	case <-ctx.Done():
	}
}

// pass records how a pass ended, and lets go of the requests it held.
func (r *Relay) pass(rows int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.behind = err == nil && rows >= behindAt
	close(r.passed)
	r.passed = make(chan struct{})
}

// Run forwards events until ctx is cancelled, then flushes what is left.
func (r *Relay) Run(ctx context.Context) { r.loop.Run(ctx, 5*time.Second) }

// Nudge asks the relay to look at the outbox now.
func (r *Relay) Nudge() { r.loop.Nudge() }

type outboxRow struct {
	ID        int64
	MessageID string
	Topic     string
	Payload   []byte
	Metadata  []byte
}

func (r *Relay) step(ctx context.Context) (time.Duration, error) {
	n := 0
	err := r.db.Transact(database.Ahead(ctx), func(tx *gorm.DB) error {
		// database.Query: the pass's first statement carries its BEGIN.
		var rows []outboxRow
		if err := database.Query(tx, `SELECT id, message_id, topic, payload, metadata FROM outbox
			ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, []any{r.batch}, func(scan func(...any) error) error {
			var row outboxRow
			if err := scan(&row.ID, &row.MessageID, &row.Topic, &row.Payload, &row.Metadata); err != nil {
				return err
			}
			rows = append(rows, row)
			return nil
		}); err != nil {
			return fmt.Errorf("read outbox: %w", err)
		}
		if len(rows) == 0 {
			return nil
		}
		// Consecutive rows of one topic go to the bus in one call, which a
		// broker or the in-process lanes can carry faster than one at a time;
		// rows of different topics keep their commit order.
		ids := make([]int64, 0, len(rows))
		for run := range topicRuns(rows) {
			msgs := make([]*message.Message, len(run))
			for i, row := range run {
				msg, err := r.message(row)
				if err != nil {
					return err
				}
				msgs[i] = msg
				ids = append(ids, row.ID)
			}
			sent := r.startSend(run[0].Topic, msgs)
			err := r.pub.Publish(run[0].Topic, msgs...)
			sent(err)
			if err != nil {
				return fmt.Errorf("publish %s: %w", run[0].Topic, err)
			}
			published(r.producer, run[0].Topic, len(run))
			if err := r.publishOlder(run[0].Topic, msgs); err != nil {
				return err
			}
		}
		n = len(rows)
		// With the commit, in its round trip; it wakes nothing.
		return database.Defer(tx, "", "DELETE FROM outbox WHERE id = ANY($1::bigint[])", database.Int64s(ids))
	})
	r.pass(n, err)
	if err != nil {
		relayFailed(r.producer)
		return 0, fmt.Errorf("messaging: relay %s: %w", r.producer, err)
	}
	if n == r.batch {
		return 0, nil // more waiting
	}
	return time.Hour, nil // sleep until nudged (capped by the loop's idle poll)
}

// message is the bus message of an outbox row.
func (r *Relay) message(row outboxRow) (*message.Message, error) {
	msg := message.NewMessage(row.MessageID, row.Payload)
	var md map[string]string
	if err := json.Unmarshal(row.Metadata, &md); err != nil {
		return nil, fmt.Errorf("decode metadata of outbox row %d: %w", row.ID, err)
	}
	for k, v := range md {
		msg.Metadata.Set(k, v)
	}
	msg.Metadata.Set(MetaProducer, r.producer)
	return msg, nil
}

// topicRuns yields rows in runs of consecutive rows of the same topic.
func topicRuns(rows []outboxRow) iter.Seq[[]outboxRow] {
	return func(yield func([]outboxRow) bool) {
		for start := 0; start < len(rows); {
			end := start + 1
			for end < len(rows) && rows[end].Topic == rows[start].Topic {
				end++
			}
			if !yield(rows[start:end]) {
				return
			}
			start = end
		}
	}
}
