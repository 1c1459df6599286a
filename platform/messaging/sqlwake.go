package messaging

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wmsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
)

// The Postgres bus wakes its subscriptions with LISTEN/NOTIFY instead of
// polling them fast. watermill-sql only polls: at the 50 ms that keeps events
// prompt, twenty idle subscriptions cost some four hundred transactions a
// second, about 5% of a core on this project's two-core reference machine,
// for nothing. So every Publish is followed by a NOTIFY naming its topic; a
// subscription that finds nothing waits for that NOTIFY (or for
// sqlIdlePoll, the safety net for a missed one) before it asks again.
// After it has found messages or been woken, a subscription polls at
// sqlPollInterval for sqlHotPeriod: a message becomes visible to the
// subscription only once every older transaction in the cluster has ended,
// which may be a moment after its NOTIFY.
const (
	sqlNotifyChannel = "uberservice_bus"
	sqlIdlePoll      = 5 * time.Second
	sqlHotPeriod     = time.Second
)

// sqlWaker listens on sqlNotifyChannel on a connection of its own and wakes the
// subscriptions waiting on the topic each notification names.
type sqlWaker struct {
	url string
	log *slog.Logger

	start  sync.Once
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	waiting map[string]chan struct{} // by topic; closed to wake, then replaced
}

func newSQLWaker(url string, log *slog.Logger) *sqlWaker {
	return &sqlWaker{url: url, log: log, waiting: map[string]chan struct{}{}}
}

// wait returns a channel that is closed the next time topic is notified, or
// when a notification may have been missed. The listener starts with the
// first call, so a process that only publishes holds no connection for it.
func (w *sqlWaker) wait(topic string) <-chan struct{} {
	w.start.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		w.cancel, w.done = cancel, make(chan struct{})
		go w.listen(ctx)
	})
	w.mu.Lock()
	defer w.mu.Unlock()
	ch, ok := w.waiting[topic]
	if !ok {
		ch = make(chan struct{})
		w.waiting[topic] = ch
	}
	return ch
}

// wake wakes the waiters on topic, or on every topic when topic is "".
func (w *sqlWaker) wake(topic string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for t, ch := range w.waiting {
		if topic == "" || t == topic {
			close(ch)
			delete(w.waiting, t)
		}
	}
}

// listen holds the LISTEN connection until ctx ends, reconnecting after a
// failure. Whenever it is not listening it wakes everyone, since
// notifications may have gone by unheard.
func (w *sqlWaker) listen(ctx context.Context) {
	defer close(w.done)
	failures := 0
	for ctx.Err() == nil {
		err := w.listenOnce(ctx)
		w.wake("")
		if ctx.Err() != nil {
			return
		}
		failures++
		delay := min(100*time.Millisecond<<min(failures, 7), 10*time.Second)
		w.log.Warn("postgres bus: notification listener lost; subscriptions poll meanwhile", "error", err, "retry_in", delay)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
	}
}

func (w *sqlWaker) listenOnce(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, w.url)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+sqlNotifyChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return fmt.Errorf("wait for notification: %w", err)
		}
		w.wake(n.Payload)
	}
}

// Close stops the listener.
func (w *sqlWaker) Close() {
	if w.cancel != nil {
		w.cancel()
		<-w.done
	}
}

// sqlWakeBackoff is watermill-sql's BackoffManager for one subscription: it
// decides how long the subscription rests after a poll, and rests by waiting
// for its topic's notification.
type sqlWakeBackoff struct {
	waker    *sqlWaker
	topic    string
	done     <-chan struct{} // the subscription's end
	idle     time.Duration   // the longest rest; zero: sqlIdlePoll
	hotUntil time.Time
	next     <-chan struct{} // taken before the last poll began
}

// HandleError implements wmsql.BackoffManager. watermill-sql calls it after
// every poll, from the subscription's one polling goroutine, and sleeps for
// the duration it returns.
func (b *sqlWakeBackoff) HandleError(logger watermill.LoggerAdapter, noMsg bool, err error) time.Duration {
	wake := b.next
	// Whatever this call decides, the channel for the next rest is taken
	// before the next poll starts, so that a NOTIFY during that poll counts.
	defer func() { b.next = b.waker.wait(b.topic) }()
	switch {
	case err != nil:
		logger.Error("Error querying for message", err, watermill.LogFields{"wait_time": sqlRetryInterval})
		return sqlRetryInterval
	case !noMsg:
		b.hotUntil = time.Now().Add(sqlHotPeriod)
		return 0
	}
	if wake == nil {
		wake = b.waker.wait(b.topic)
	}
	rest := cmp.Or(b.idle, sqlIdlePoll)
	if time.Now().Before(b.hotUntil) {
		rest = sqlPollInterval
	}
	t := time.NewTimer(rest)
	defer t.Stop()
	select {
	case <-wake:
		b.hotUntil = time.Now().Add(sqlHotPeriod)
	case <-t.C:
	case <-b.done:
	}
	return 0
}

// sqlGroupSubscriber gives each topic a watermill-sql subscriber of its own,
// so that each subscription rests on its own topic's notifications.
type sqlGroupSubscriber struct {
	newSubscriber func(backoff wmsql.BackoffManager) (*wmsql.Subscriber, error)
	waker         *sqlWaker
	closed        context.Context
	close         context.CancelFunc

	mu   sync.Mutex
	subs []*wmsql.Subscriber
}

func newSQLGroupSubscriber(waker *sqlWaker, newSubscriber func(wmsql.BackoffManager) (*wmsql.Subscriber, error)) *sqlGroupSubscriber {
	ctx, cancel := context.WithCancel(context.Background())
	return &sqlGroupSubscriber{newSubscriber: newSubscriber, waker: waker, closed: ctx, close: cancel}
}

// Subscribe implements message.Subscriber.
func (g *sqlGroupSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	ctx, cancel := context.WithCancel(ctx)
	context.AfterFunc(g.closed, cancel)
	sub, err := g.newSubscriber(&sqlWakeBackoff{waker: g.waker, topic: topic, done: ctx.Done(),
		hotUntil: time.Now().Add(sqlHotPeriod)})
	if err != nil {
		cancel()
		return nil, err
	}
	g.mu.Lock()
	g.subs = append(g.subs, sub)
	g.mu.Unlock()
	ch, err := sub.Subscribe(ctx, topic)
	if err != nil {
		cancel()
		return nil, err
	}
	return ch, nil
}

// Close implements message.Subscriber: it ends every subscription of the group.
func (g *sqlGroupSubscriber) Close() error {
	g.close()
	g.mu.Lock()
	subs := g.subs
	g.subs = nil
	g.mu.Unlock()
	errs := make([]error, len(subs))
	for i, s := range subs {
		errs[i] = s.Close()
	}
	return errors.Join(errs...)
}
