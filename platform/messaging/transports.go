package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
)

// The cross-process buses (nats.go, amqp.go, sql.go) share these rules:
//
//   - Publish returns nil only once the broker has durably taken the message
//     (a JetStream publish ack, a RabbitMQ publisher confirm, a committed
//     insert), and an error within publishTimeout otherwise. The relay deletes
//     an outbox row only after that, so an outage never loses an event: the
//     rows wait and the relay tries again.
//   - A consumer group is durable broker state: a NATS durable consumer, a
//     RabbitMQ durable queue, a row in the topic's offsets table. Provision
//     creates it without consuming; otherwise the group's first subscription
//     to the topic does. From then on the group gets every message of the
//     topic, including those published while none of its instances is
//     connected; messages published before the state existed are not
//     delivered to it. Provisioning and subscribing are idempotent and safe
//     to run concurrently: an existing group keeps its position. Instances of
//     one group share its messages.
//   - Message UUID, payload and metadata survive the trip; the inbox dedupes
//     by UUID, so a redelivery has no second effect.
//   - Delivery is at least once. A message that is not acknowledged (Nack, a
//     crash, a lost connection, ackWait passing) is delivered again.
//   - A group that is gone for good keeps its state, and on NATS and RabbitMQ
//     a backlog that grows with every message: remove it by hand.
//
// Group names are module names; topics are dotted names such as
// "accounts.funds_deposited.v1".

const (
	// publishTimeout bounds a Publish that the broker neither confirms nor
	// refuses (a blocked RabbitMQ, a hung database connection).
	publishTimeout = 15 * time.Second
	// ackWait is how long a delivered message may stay unacknowledged before
	// the broker delivers it again.
	ackWait = 30 * time.Second
)

var (
	groupPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$`)
	topicPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)
)

func checkGroup(group string) error {
	if !groupPattern.MatchString(group) {
		return fmt.Errorf("messaging: invalid consumer group %q (want letters, digits, _ and -)", group)
	}
	return nil
}

func checkTopic(topic string) error {
	// 150 keeps "<group>.<topic>" within RabbitMQ's 255 bytes for queue names.
	if len(topic) > 150 || !topicPattern.MatchString(topic) {
		return fmt.Errorf("messaging: invalid topic %q (want dot-separated words of letters, digits, _ and -)", topic)
	}
	return nil
}

// redactURLs hides the passwords in a comma-separated list of broker URLs.
func redactURLs(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil {
			parts[i] = "<unparseable URL>"
			continue
		}
		parts[i] = u.Redacted()
	}
	return strings.Join(parts, ",")
}

func watermillLogger(log *slog.Logger) watermill.LoggerAdapter {
	return watermill.NewSlogLoggerWithLevelMapping(log, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
}

// brokerBus is the Bus of a cross-process transport: one publisher, and a
// subscriber per Subscriber call, all closed by Close.
type brokerBus struct {
	name      string
	pub       message.Publisher
	subscribe func(group string) (message.Subscriber, error)
	// provision creates group's durable state for a valid topic, without
	// consuming.
	provision  func(ctx context.Context, group, topic string) error
	closeConns func() error // after the publisher and subscribers; may be nil
	// remove deletes group's durable state on a valid topic (remove.go).
	remove func(ctx context.Context, group, topic string) error

	mu     sync.Mutex
	subs   []message.Subscriber
	closed bool
}

// transport is what a cross-process transport gives newBrokerBus.
type transport struct {
	pub        message.Publisher
	subscribe  func(group string) (message.Subscriber, error)
	provision  func(ctx context.Context, group, topic string) error
	closeConns func() error
	remove     func(ctx context.Context, group, topic string) error
}

func newBrokerBus(name string, t transport) *brokerBus {
	return &brokerBus{name: name, pub: checkedPublisher{t.pub}, subscribe: t.subscribe, provision: t.provision, closeConns: t.closeConns, remove: t.remove}
}

// Publisher implements Bus.
func (b *brokerBus) Publisher() message.Publisher { return b.pub }

// Subscriber implements Bus: a subscriber whose subscriptions belong to group.
func (b *brokerBus) Subscriber(group string) (message.Subscriber, error) {
	if err := checkGroup(group); err != nil {
		return nil, err
	}
	if b.isClosed() {
		return nil, fmt.Errorf("messaging: the %s bus is closed", b.name)
	}
	sub, err := b.subscribe(group)
	if err != nil {
		return nil, fmt.Errorf("messaging: %s subscriber for %s: %w", b.name, group, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		_ = sub.Close()
		return nil, fmt.Errorf("messaging: the %s bus is closed", b.name)
	}
	b.subs = append(b.subs, sub)
	return checkedSubscriber{sub}, nil
}

// Provision implements Bus.
func (b *brokerBus) Provision(ctx context.Context, group string, topics []string) error {
	if err := checkGroup(group); err != nil {
		return err
	}
	for _, t := range topics {
		if err := checkTopic(t); err != nil {
			return err
		}
	}
	for _, t := range topics {
		if err := ctx.Err(); err != nil {
			return err
		}
		if b.isClosed() {
			return fmt.Errorf("messaging: the %s bus is closed", b.name)
		}
		if err := b.provision(ctx, group, t); err != nil {
			return fmt.Errorf("messaging: %s: provision consumer group %s: %w", b.name, group, err)
		}
	}
	return nil
}

func (b *brokerBus) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// Name implements Bus.
func (b *brokerBus) Name() string { return b.name }

// CrossProcess implements Bus.
func (b *brokerBus) CrossProcess() bool { return true }

// Close implements Bus: it closes every subscriber the bus made (closing one
// twice is harmless), then the publisher, then the connections.
func (b *brokerBus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := b.subs
	b.subs = nil
	b.mu.Unlock()

	var errs []error
	for _, s := range subs {
		if err := s.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close subscriber: %w", err))
		}
	}
	if err := b.pub.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close publisher: %w", err))
	}
	if b.closeConns != nil {
		if err := b.closeConns(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("messaging: close the %s bus: %w", b.name, err)
	}
	return nil
}

// checkedPublisher refuses topics the transports cannot map to broker names.
type checkedPublisher struct{ message.Publisher }

func (p checkedPublisher) Publish(topic string, msgs ...*message.Message) error {
	if err := checkTopic(topic); err != nil {
		return err
	}
	return p.Publisher.Publish(topic, msgs...)
}

// checkedSubscriber refuses topics the transports cannot map to broker names.
type checkedSubscriber struct{ message.Subscriber }

func (s checkedSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	if err := checkTopic(topic); err != nil {
		return nil, err
	}
	return s.Subscriber.Subscribe(ctx, topic)
}
