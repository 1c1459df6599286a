package messaging

import (
	"context"
	"fmt"
	"time"

	wmamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"
)

// RabbitMQ, through watermill-amqp's durable pub/sub configuration.
//
// Layout, per topic such as "accounts.funds_deposited.v1":
//   - a durable fanout exchange named after the topic, declared by the first
//     Publish or Subscribe that needs it;
//   - per consumer group, a durable queue "<group>.<topic>" bound to it,
//     declared by Provision or when the group first subscribes. The instances
//     of a module consume from the same queue and RabbitMQ hands each message
//     to one. A provisioned queue with no consumer collects the messages.
//
// Guarantees:
//   - Publish puts its channel in confirm mode and waits for the broker's
//     confirm of each persistent message (delivery mode 2): for a message
//     routed to durable queues the confirm comes once they have written it to
//     disk. A message routed to no queue (no group has subscribed yet) is
//     confirmed and dropped. A Publish with no confirm within publishTimeout
//     (a connection blocked by a resource alarm) returns an error.
//   - Delivery to a group: at least once. A Nack requeues the message at
//     once; unacknowledged messages of a lost channel or connection are
//     requeued too. RabbitMQ closes a channel whose delivery stays
//     unacknowledged past its consumer_timeout (30 minutes by default).
//   - Order: queue order for one instance of a group, prefetch messages at a
//     time; a requeued message may come after later ones, and several
//     instances process in parallel.
//   - Connections reconnect with backoff (up to 5s between attempts) and
//     subscriptions resume on the new connection. During an outage Publish
//     fails at once ("not connected").
//   - Queues are classic durable queues (the vhost's default type); a
//     cluster can make them quorum queues by policy. A group that is gone for
//     good leaves its queue behind, growing: delete it by hand.

const (
	amqpPrefetch      = 16 // deliveries in flight per subscription
	amqpHeartbeat     = 10 * time.Second
	amqpDialTimeout   = 5 * time.Second
	amqpMaxReconnect  = 5 * time.Second
	amqpCloseDeadline = 5 * time.Second
)

func openAMQP(ctx context.Context, url string, opts Options) (Bus, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	log := watermillLogger(opts.Log.With("bus", "amqp"))
	// Publishing and consuming use separate connections, as RabbitMQ advises:
	// flow control blocks a publishing connection, and must not hold up acks.
	pub, err := wmamqp.NewPublisher(amqpConfig(url, "", "uberservice publisher"), log)
	if err != nil {
		return nil, fmt.Errorf("messaging: connect to RabbitMQ at %s: %w", redactURLs(url), err)
	}
	subConn, err := wmamqp.NewConnection(amqpConfig(url, "", "uberservice consumers").Connection, log)
	if err != nil {
		_ = pub.Close()
		return nil, fmt.Errorf("messaging: connect to RabbitMQ at %s: %w", redactURLs(url), err)
	}
	subscriber := func(group string) (*wmamqp.Subscriber, error) {
		return wmamqp.NewSubscriberWithConnection(amqpConfig(url, group, ""), log, subConn)
	}
	return newBrokerBus("amqp", transport{
		pub: &amqpPublisher{pub},
		subscribe: func(group string) (message.Subscriber, error) {
			sub, err := subscriber(group)
			if err != nil {
				return nil, err
			}
			return sub, nil
		},
		provision: func(_ context.Context, group, topic string) error {
			sub, err := subscriber(group)
			if err != nil {
				return err
			}
			defer sub.Close()
			// The topology a Subscribe declares, with no consumer on it.
			if err := sub.SubscribeInitialize(topic); err != nil {
				return fmt.Errorf("declare the queue of %s: %w", topic, err)
			}
			return nil
		},
		closeConns: subConn.Close,
		remove: func(_ context.Context, group, topic string) error {
			ch, err := subConn.Connection().Channel()
			if err != nil {
				return err
			}
			defer ch.Close()
			_, err = ch.QueueDelete(group+"."+topic, false, false, false)
			return err
		},
	}), nil
}

// amqpConfig is watermill-amqp's durable pub/sub configuration with
// publisher confirms, a modest prefetch, a queue per (group, topic) and
// faster reconnects.
func amqpConfig(url, group, connName string) wmamqp.Config {
	cfg := wmamqp.NewDurablePubSubConfig(url, func(topic string) string { return group + "." + topic })
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(connName)
	cfg.Connection.AmqpConfig = &amqp.Config{
		Heartbeat:  amqpHeartbeat,
		Locale:     "en_US",
		Dial:       amqp.DefaultDial(amqpDialTimeout),
		Properties: props, // one map per connection: the client writes to it
	}
	cfg.Connection.Reconnect = &wmamqp.ReconnectConfig{
		BackoffInitialInterval:     250 * time.Millisecond,
		BackoffRandomizationFactor: 0.5,
		BackoffMultiplier:          2,
		BackoffMaxInterval:         amqpMaxReconnect,
	}
	cfg.Publish.ConfirmDelivery = true
	// No channel pool: a pooled channel that fails to reopen during a
	// reconnect is never returned to the pool, and publishing then blocks for
	// good. A channel per Publish costs a few round trips.
	cfg.Publish.ChannelPoolSize = 0
	cfg.Consume.Qos.PrefetchCount = amqpPrefetch
	return cfg
}

// amqpPublisher bounds Publish and Close by time: the client waits for a
// confirm without a deadline.
type amqpPublisher struct{ *wmamqp.Publisher }

// Publish returns once RabbitMQ has confirmed every message.
func (p *amqpPublisher) Publish(topic string, msgs ...*message.Message) error {
	done := make(chan error, 1)
	go func() { done <- p.Publisher.Publish(topic, msgs...) }()
	timer := time.NewTimer(publishTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("messaging: publish %s to RabbitMQ: %w", topic, err)
		}
		return nil
	case <-timer.C:
		// The abandoned publish may still be confirmed later: the relay
		// publishes the row again and the inbox absorbs the duplicate.
		return fmt.Errorf("messaging: publish %s to RabbitMQ: no confirm within %s", topic, publishTimeout)
	}
}

// Close waits for publishes in flight; one still waiting for a confirm after
// amqpCloseDeadline is ended by closing the connection under it.
func (p *amqpPublisher) Close() error {
	done := make(chan error, 1)
	go func() { done <- p.Publisher.Close() }()
	select {
	case err := <-done:
		return err
	case <-time.After(amqpCloseDeadline):
		if c := p.Connection(); c != nil {
			_ = c.Close()
		}
		return <-done
	}
}
