package messaging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"go.opentelemetry.io/otel/trace"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/page"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/tracing"
	"github.com/uberservice/uberservice/platform/worker"
)

// HandlerFunc applies one event inside tx, the transaction that also records the
// message in the inbox. Any event it publishes must be written through tx. A
// panic is a failed attempt like a returned error (see panic.go).
type HandlerFunc[E Event] func(ctx context.Context, tx *gorm.DB, e E) error

// RetryPolicy says how often a failing handler is retried before its message
// becomes a dead letter.
type RetryPolicy struct {
	MaxAttempts int           // including the first delivery; default 5
	Backoff     time.Duration // before the first retry, doubling after; default 1s
	MaxBackoff  time.Duration // default 1m
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.Backoff <= 0 {
		p.Backoff = time.Second
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = time.Minute
	}
	return p
}

func (p RetryPolicy) delay(attempts int) time.Duration {
	d := p.Backoff << min(attempts-1, 20)
	return min(d, p.MaxBackoff)
}

// Consumers are a module's event handlers.
type Consumers struct {
	module string
	db     *database.DB
	log    *slog.Logger
	policy RetryPolicy
	tp     trace.TracerProvider // nil: untraced (see SetTracerProvider)

	mu       sync.Mutex
	handlers map[string]*handler // by topic
	router   *message.Router
	retry    *worker.Loop
	stop     context.CancelFunc // stops the retry loop
	stopped  chan struct{}      // closed when the retry loop has returned
}

type handler struct {
	name    string // the inbox key: unique per module and topic, shared by a topic's versions (handlerKey)
	topic   string
	batched bool     // registered with HandleBatched
	batcher *batcher // while the consumers run, if batched

	// apply decodes a payload and runs the module's function on it. It is
	// the one way into the module's code, and it never panics: a panic there
	// comes back as a *panicError (see panic.go), so that every caller
	// (delivery, batch, retry, replay) records it as a failed attempt.
	apply func(ctx context.Context, tx *gorm.DB, payload []byte) error
	// applyAll applies a batch's new deliveries in tx, in order, and never
	// panics either; nil: apply, one after the other (see HandleBatchedWith).
	applyAll func(tx *gorm.DB, ds []*delivery) error
}

// NewConsumers returns an empty set of handlers for module, whose inbox and
// dead letters live in db.
func NewConsumers(module string, db *database.DB, policy RetryPolicy, log *slog.Logger) *Consumers {
	c := &Consumers{module: module, db: db, log: log, policy: policy.withDefaults(), handlers: map[string]*handler{}}
	c.retry = worker.New(module+".retry", c.retryStep, time.Minute, log)
	return c
}

// Permanent marks err as one that retrying cannot fix (a payload that does not
// decode, say): its message goes straight to the dead letters.
func Permanent(err error) error { return permanentError{err} }

type permanentError struct{ error }

func (p permanentError) Unwrap() error { return p.error }

// Handle registers fn for the topic of E. A module registers at most one handler
// per topic. Each delivery is applied in a transaction of its own.
func Handle[E Event](c *Consumers, fn HandlerFunc[E]) { register(c, fn, false) }

// HandleBatched registers fn like Handle, but deliveries of the topic that
// arrive together are applied in one transaction (see batch.go): far cheaper
// for a busy topic. It is for handlers whose writes cannot deadlock with
// other work, such as inserts keyed by the event: a batch holds the locks of
// all its events until it commits, in the order the events came, so a handler
// that locks rows a request also locks (stock, balances) would deadlock with
// it. Such a handler uses Handle.
func HandleBatched[E Event](c *Consumers, fn HandlerFunc[E]) { register(c, fn, true) }

func register[E Event](c *Consumers, fn HandlerFunc[E], batched bool) {
	var zero E
	topic := zero.Topic()
	add(c, &handler{
		name:    handlerKey(c.module, zero),
		topic:   topic,
		batched: batched,
		apply: func(ctx context.Context, tx *gorm.DB, payload []byte) error {
			// Decoding is the module's code too (an UnmarshalJSON of its
			// own), so it is guarded with the handler.
			return callSafely(func() error {
				e, err := decode[E](payload)
				if err != nil {
					return err
				}
				return fn(ctx, tx, e)
			})
		},
	})
}

// decode is the event E a payload holds; a payload that is not one is a
// Permanent error.
func decode[E Event](payload []byte) (E, error) {
	var e E
	if err := json.Unmarshal(payload, &e); err != nil {
		return e, Permanent(fmt.Errorf("decode %s: %w", e.Topic(), err))
	}
	return e, nil
}

// add registers h, refusing a second handler of its topic or of another
// version of it.
func add(c *Consumers, h *handler) {
	topic := h.topic
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.handlers[topic]; dup {
		panic(fmt.Sprintf("messaging: %s registers two handlers for %s", c.module, topic))
	}
	for _, other := range c.handlers {
		if other.name == h.name {
			panic(fmt.Sprintf("messaging: %s registers handlers for two versions of one topic, %s and %s", c.module, other.topic, topic))
		}
	}
	c.handlers[topic] = h
}

// Topics lists the topics that have a handler, sorted.
func (c *Consumers) Topics() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	topics := make([]string, 0, len(c.handlers))
	for t := range c.handlers {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	return topics
}

// Start subscribes every handler through sub and returns once the
// subscriptions are live, so that no event published afterwards is missed.
// The retry loop runs until ctx is cancelled.
func (c *Consumers) Start(ctx context.Context, sub message.Subscriber) error {
	if len(c.Topics()) == 0 {
		return nil
	}
	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 30 * time.Second},
		watermill.NewSlogLoggerWithLevelMapping(c.log, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug}))
	if err != nil {
		return fmt.Errorf("messaging: router for %s: %w", c.module, err)
	}
	for _, topic := range c.Topics() {
		h := c.handlers[topic]
		if h.batched {
			h.batcher = newBatcher(c, h)
		}
		router.AddConsumerHandler(c.module+"."+topic, topic, sub, func(msg *message.Message) error {
			return c.deliver(msg, h)
		})
	}
	c.router = router
	go func() {
		if err := router.Run(context.WithoutCancel(ctx)); err != nil {
			c.log.Error("event router stopped", "module", c.module, "error", err)
		}
	}()
	select {
	case <-router.Running():
	case <-ctx.Done():
		return ctx.Err()
	}
	rctx, stop := context.WithCancel(ctx)
	c.stop, c.stopped = stop, make(chan struct{})
	go func() { defer close(c.stopped); c.retry.Run(rctx, time.Second) }()
	subscribed(c.module, c.Topics(), true)
	return nil
}

// Close stops the retry loop, stops taking messages and waits for the
// handlers in flight.
func (c *Consumers) Close() error {
	if c.router == nil {
		return nil
	}
	subscribed(c.module, c.Topics(), false)
	c.stop()
	<-c.stopped
	err := c.router.Close()
	for _, topic := range c.Topics() {
		if b := c.handlers[topic].batcher; b != nil {
			b.stop()
		}
	}
	return err
}

// Running reports whether the subscriptions are live (for readiness).
func (c *Consumers) Running() bool {
	return c.router == nil || (c.router.IsRunning() && !c.router.IsClosed())
}

// deliver applies a message from the bus. It acknowledges the message once the
// handler has committed or its failure is durably recorded for retry; only when
// neither is possible (the database is down) does it ask for redelivery.
func (c *Consumers) deliver(msg *message.Message, h *handler) error {
	ctx, span := c.startHandling(withMetadata(msg.Context(), msg.Metadata), h, msg.UUID)
	delivered(c.module, h.topic)
	var err error
	defer func() { tracing.End(span, err) }() // the handler's outcome, whatever becomes of the message
	if h.batcher != nil {
		err = h.batcher.apply(ctx, msg.UUID, msg.Payload)
	} else {
		err = c.apply(ctx, h, msg.UUID, msg.Payload)
	}
	if err == nil {
		handled(c.module, h.topic, msg.Metadata)
		return nil
	}
	md, _ := json.Marshal(msg.Metadata)
	if recErr := c.recordFailure(ctx, h, msg.UUID, msg.Payload, md, err); recErr != nil {
		c.log.ErrorContext(ctx, "cannot record failed message; asking for redelivery",
			"handler", h.name, "message_id", msg.UUID, "error", recErr)
		time.Sleep(time.Second) // an in-process bus redelivers at once: do not spin
		return recErr
	}
	return nil
}

// withMetadata gives ctx the correlation id and trace context an event carries,
// so the handler's span, logs and calls join the story that caused the event,
// and its producer (ProducerOf).
func withMetadata(ctx context.Context, md map[string]string) context.Context {
	// An event with no usable id (a producer outside the platform, say) gets
	// one of its own, so that the handler's lines and what it publishes still
	// share one; an oversized or forged id is never copied on.
	ctx = correlation.With(ctx, correlation.OrNew(md[correlation.MetadataKey]))
	ctx = withProducer(ctx, md)
	return tracing.Extract(ctx, md)
}

// apply runs the handler and records the message in the inbox in one
// transaction. A message already in the inbox is skipped.
func (c *Consumers) apply(ctx context.Context, h *handler, msgID string, payload []byte) error {
	start := time.Now()
	duplicate := false
	err := c.db.Transact(database.Ahead(ctx), func(tx *gorm.DB) error {
		res := tx.Exec("INSERT INTO inbox (message_id, handler) VALUES (?, ?) ON CONFLICT DO NOTHING", msgID, h.name)
		if res.Error != nil {
			return fmt.Errorf("record in inbox: %w", res.Error)
		}
		if res.RowsAffected == 0 {
			duplicate = true
			return nil
		}
		return h.apply(ctx, tx, payload)
	})
	// Every handling is a line, with the event's correlation id: following
	// a request through the logs reaches its events' handlers.
	var p *panicError
	switch {
	case errors.As(err, &p):
		// A panic is a bug, not a refusal: it is logged as an error, once per
		// attempt, with the stack that leads to it.
		c.log.ErrorContext(ctx, "event handler panicked", "handler", h.name, "message_id", msgID, "took", time.Since(start),
			"panic", fmt.Sprint(p.value), "stack", string(p.stack))
	case err != nil:
		c.log.WarnContext(ctx, "event handler failed", "handler", h.name, "message_id", msgID, "took", time.Since(start), "error", err)
	default:
		msg := "event handled"
		if duplicate {
			msg = "event already handled; skipped"
		}
		c.log.InfoContext(ctx, msg, "handler", h.name, "message_id", msgID, "took", time.Since(start))
	}
	return err
}

func (c *Consumers) recordFailure(ctx context.Context, h *handler, msgID string, payload, md []byte, cause error) error {
	status, next := "retrying", any(time.Now().Add(c.policy.delay(1)))
	if errors.As(cause, new(permanentError)) || c.policy.MaxAttempts <= 1 {
		status, next = "dead", nil
	}
	res := c.db.WithContext(ctx).Exec(`INSERT INTO dead_letters
		(message_id, handler, topic, payload, metadata, status, attempts, last_error, next_attempt_at)
		VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?) ON CONFLICT (message_id, handler) DO NOTHING`,
		msgID, h.name, h.topic, payload, string(md), status, database.StorableText(cause.Error()), next)
	if res.Error != nil {
		return fmt.Errorf("messaging: record failed %s: %w", h.name, res.Error)
	}
	if status == "dead" && res.RowsAffected == 1 {
		deadLettered(c.module, h.topic)
	}
	c.retry.Nudge()
	return nil
}

// DeadLetter is a message whose handler failed.
type DeadLetter struct {
	ID            int64      `json:"id"`
	MessageID     string     `json:"message_id"`
	Handler       string     `json:"handler"`
	Topic         string     `json:"topic"`
	Status        string     `json:"status"` // retrying or dead
	Attempts      int        `json:"attempts"`
	LastError     string     `json:"last_error"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	Payload       []byte     `json:"-"`
	Metadata      []byte     `json:"-"`
}

// deadLetterOrder is the order of the dead letters: by id, which the
// sequence hands out as failures are first recorded, newest first like every
// list.
var deadLetterOrder = page.NewKeyset("messaging.dead_letters", page.Int("id"))

// DeadLetters lists one page of the module's failed messages, newest first.
func (c *Consumers) DeadLetters(ctx context.Context, req page.Request) (page.Page[DeadLetter], error) {
	q := c.db.WithContext(ctx).Table("dead_letters").Select(`id, message_id, handler, topic, status, attempts,
		last_error, next_attempt_at, created_at, updated_at`)
	p, err := page.Find(q, deadLetterOrder, req, func(dl DeadLetter) []any { return []any{dl.ID} })
	return p, problem.Wrapf(err, "messaging: list dead letters")
}

// ErrNoDeadLetter is returned by Replay for an id that is not there.
var ErrNoDeadLetter = errors.New("messaging: no such dead letter")

// Replay runs the handler of dead letter id once more, now. On success the dead
// letter is removed; on failure it stays, with the new error.
func (c *Consumers) Replay(ctx context.Context, id int64) error {
	var dl DeadLetter
	res := c.db.WithContext(ctx).Raw(`SELECT id, message_id, handler, topic, status, attempts, payload, metadata
		FROM dead_letters WHERE id = ?`, id).Scan(&dl)
	if res.Error != nil {
		return fmt.Errorf("messaging: read dead letter %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNoDeadLetter
	}
	return c.rerun(ctx, dl, true)
}

// retryStep is retryDue for the retry loop, which runs on a goroutine of this
// package's own. The module's code cannot panic here (handler.apply recovers
// its panics), but should this package's own code panic, the round fails
// with the panic, which the loop logs and backs off from, instead of taking
// the process down with it.
func (c *Consumers) retryStep(ctx context.Context) (time.Duration, error) {
	var wait time.Duration
	err := callSafely(func() error {
		var err error
		wait, err = c.retryDue(ctx)
		return err
	})
	var p *panicError
	if errors.As(err, &p) {
		return 0, fmt.Errorf("messaging: retry loop of %s: %w", c.module, err)
	}
	return wait, err
}

// retryDue retries the failed messages whose time has come and reports how long
// until the next one is due.
func (c *Consumers) retryDue(ctx context.Context) (time.Duration, error) {
	var due []DeadLetter
	err := c.db.WithContext(ctx).Raw(`SELECT id, message_id, handler, topic, attempts, payload, metadata FROM dead_letters
		WHERE status = 'retrying' AND next_attempt_at <= now() ORDER BY next_attempt_at LIMIT 50`).Scan(&due).Error
	if err != nil {
		return 0, fmt.Errorf("messaging: read due retries: %w", err)
	}
	for _, dl := range due {
		if err := c.rerun(ctx, dl, false); err != nil {
			return 0, err
		}
	}
	if len(due) == 50 {
		return 0, nil
	}
	var next *time.Time
	if err := c.db.WithContext(ctx).Raw(`SELECT min(next_attempt_at) FROM dead_letters WHERE status = 'retrying'`).
		Row().Scan(&next); err != nil {
		return 0, fmt.Errorf("messaging: next retry: %w", err)
	}
	if next == nil {
		return time.Hour, nil
	}
	return max(time.Until(*next), time.Millisecond), nil
}

// rerun applies a recorded message again and updates its record. An operator's
// replay (manual) leaves a message that fails again dead; an automatic retry
// schedules the next attempt until the policy gives up.
func (c *Consumers) rerun(ctx context.Context, dl DeadLetter, manual bool) error {
	h := c.handlerFor(dl.Topic)
	var cause error
	if h == nil || h.name != dl.Handler {
		cause = Permanent(fmt.Errorf("no handler %s in this build", dl.Handler))
	} else {
		var md map[string]string
		_ = json.Unmarshal(dl.Metadata, &md) // stored by recordFailure; a bad one just loses the ids
		if !manual {
			retried(c.module, dl.Topic)
		}
		hctx, span := c.startHandling(withMetadata(ctx, md), h, dl.MessageID)
		cause = c.apply(hctx, h, dl.MessageID, dl.Payload)
		tracing.End(span, cause)
		if cause == nil {
			handled(c.module, dl.Topic, md)
		}
	}
	if cause == nil {
		return c.db.WithContext(ctx).Exec("DELETE FROM dead_letters WHERE id = ?", dl.ID).Error
	}
	attempts := dl.Attempts + 1
	status, next := "retrying", any(time.Now().Add(c.policy.delay(attempts)))
	if manual || attempts >= c.policy.MaxAttempts || errors.As(cause, new(permanentError)) {
		status, next = "dead", nil
	}
	if status == "dead" && dl.Status != "dead" { // a retry's has none: it is retrying
		deadLettered(c.module, dl.Topic)
	}
	if err := c.db.WithContext(ctx).Exec(`UPDATE dead_letters SET status = ?, attempts = ?, last_error = ?,
		next_attempt_at = ?, updated_at = now() WHERE id = ?`, status, attempts, database.StorableText(cause.Error()), next, dl.ID).Error; err != nil {
		return fmt.Errorf("messaging: update dead letter %d: %w", dl.ID, err)
	}
	if manual {
		return fmt.Errorf("messaging: replay of dead letter %d failed: %w", dl.ID, cause)
	}
	return nil
}

func (c *Consumers) handlerFor(topic string) *handler {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.handlers[topic]
}
