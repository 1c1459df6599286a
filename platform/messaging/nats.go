package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
)

// NATS JetStream, on nats.go: this file's publisher, natsconsume.go's push
// consumers, and watermill-nats' marshaler between the two (a message's
// watermill UUID and metadata travel as headers).
//
// Layout, per topic such as "accounts.funds_deposited.v1":
//   - a stream named after the topic with dots turned to underscores
//     ("accounts_funds_deposited_v1") whose only subject is the topic itself:
//     dots are NATS token separators, so a topic is a valid literal subject.
//     File storage, interest retention: a message is kept until every consumer
//     group on the topic has acknowledged it, and a message published while
//     the stream has no consumer at all is not kept. Created by the first
//     Publish, Subscribe or Provision that needs it.
//   - per consumer group, a durable push consumer named after the group, with
//     deliver group = the group: the instances of a module queue-subscribe to
//     its deliver subject and the server hands each message to one of them.
//     The consumer is created by this package, not by the client library,
//     because the library deletes consumers it created when the subscription
//     ends, and with them the group's position. Provision creates it with no
//     subscription: the server keeps its messages until one comes.
//
// Guarantees:
//   - Publish waits for the stream's publish acks (of every message it was
//     given, sent together); the message id is the
//     watermill UUID (Nats-Msg-Id), so the stream drops a re-publish of the
//     same message within its two-minute duplicate window. The ack means the
//     message is in the stream's file store: a single server fsyncs on its
//     sync_interval (2 minutes by default; "sync_interval: always" to fsync
//     every write), a cluster should run streams with replicas.
//   - Delivery to a group: at least once; unacknowledged for ackWait, or
//     Nacked, and the message is delivered again, without limit.
//   - In flight: natsInFlight messages of a topic at a time per instance,
//     in no promised order (natsconsume.go); a redelivered message comes
//     after the ones delivered meanwhile. Closing a subscriber gives back at
//     once what the server had pushed to it and no handler took.
//   - The client reconnects forever (every natsReconnectWait). During an
//     outage Publish fails at once (publishes are not buffered) and
//     acknowledgements fail, so those messages come again after ackWait.

const (
	natsAPIWait       = 5 * time.Second // JetStream API requests and publish acks
	natsReconnectWait = time.Second
	// natsMaxAckPending caps a group's unacknowledged messages, across its
	// instances: the messages a crashed instance held wait ackWait.
	natsMaxAckPending = 64
)

func openNATS(ctx context.Context, url string, opts Options) (Bus, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	log := opts.Log.With("bus", "nats")
	conn, js, err := natsConnect(url, "uberservice publisher", log)
	if err != nil {
		return nil, err
	}
	pub := &natsPublisher{conn: conn, js: js}
	return newBrokerBus("nats", transport{
		pub: pub,
		subscribe: func(group string) (message.Subscriber, error) {
			return newNATSSubscriber(url, group, log)
		},
		provision: func(_ context.Context, group, topic string) error {
			return natsProvision(js, group, topic)
		},
		remove: func(_ context.Context, group, topic string) error { return natsRemove(js, group, topic) },
	}), nil
}

// natsProvision creates, on the publisher's connection, the topic's stream
// and group's durable consumer on it: exactly what a subscription creates,
// with no subscription. The consumer starts at the stream's next message and
// holds every message from then on (interest retention) until the group
// acknowledges it.
func natsProvision(js nats.JetStreamManager, group, topic string) error {
	stream, err := natsEnsureStream(js, topic)
	if err != nil {
		return err
	}
	return natsEnsureConsumer(js, stream, topic, group)
}

// natsConnect opens a connection that reconnects forever and checks that the
// server runs JetStream.
func natsConnect(url, name string, log *slog.Logger) (*nats.Conn, nats.JetStreamContext, error) {
	conn, err := nats.Connect(url,
		nats.Name(name),
		nats.Timeout(5*time.Second),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(natsReconnectWait),
		// Fail publishes and acks while disconnected instead of buffering them:
		// the relay keeps its rows and retries, and no publish leaves late.
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("NATS disconnected; reconnecting", "connection", name, "error", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			log.Info("NATS reconnected", "connection", name, "server", c.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Error("NATS error", "connection", name, "subject", subject, "error", err)
		}),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("messaging: connect to NATS at %s: %w", redactURLs(url), err)
	}
	js, err := conn.JetStream(nats.MaxWait(natsAPIWait))
	if err == nil {
		_, err = js.AccountInfo()
	}
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("messaging: JetStream at %s: %w", redactURLs(url), err)
	}
	return conn, js, nil
}

// natsStream names the stream of topic.
func natsStream(topic string) string { return strings.ReplaceAll(topic, ".", "_") }

// natsEnsureStream creates the stream of topic unless it exists, and returns
// its name.
func natsEnsureStream(js nats.JetStreamManager, topic string) (string, error) {
	name := natsStream(topic)
	info, err := js.StreamInfo(name)
	switch {
	case err == nil:
		if !slices.Contains(info.Config.Subjects, topic) {
			return "", fmt.Errorf("NATS stream %s exists for subjects %v, not %s", name, info.Config.Subjects, topic)
		}
		return name, nil
	case !errors.Is(err, nats.ErrStreamNotFound):
		return "", fmt.Errorf("look up NATS stream %s: %w", name, err)
	}
	_, err = js.AddStream(&nats.StreamConfig{
		Name:        name,
		Description: "uberservice events " + topic,
		Subjects:    []string{topic},
		Retention:   nats.InterestPolicy,
		Storage:     nats.FileStorage,
		Replicas:    1,
		Discard:     nats.DiscardOld,
		Duplicates:  2 * time.Minute,
	})
	if err != nil && !errors.Is(err, nats.ErrStreamNameAlreadyInUse) {
		return "", fmt.Errorf("create NATS stream %s: %w", name, err)
	}
	return name, nil
}

// natsPublisher publishes to JetStream, making sure a topic's stream exists
// first. The messages of one Publish go out together, each without waiting
// for the ack of the one before (a relay's batch is one write to the server,
// not a round trip per message), and Publish returns once every one of them
// is acknowledged. Should one fail, the caller publishes them all again: the
// stream drops the copies of those it had by their Nats-Msg-Id.
type natsPublisher struct {
	conn      *nats.Conn
	js        nats.JetStreamContext
	marshaler wmnats.NATSMarshaler
	streams   sync.Map // topics whose stream is known to exist
}

// Publish returns once JetStream has acknowledged every message.
func (p *natsPublisher) Publish(topic string, msgs ...*message.Message) error {
	if _, ok := p.streams.Load(topic); !ok {
		if _, err := natsEnsureStream(p.js, topic); err != nil {
			return fmt.Errorf("messaging: publish %s: %w", topic, err)
		}
		p.streams.Store(topic, struct{}{})
	}
	if err := p.publish(topic, msgs); err != nil {
		p.streams.Delete(topic) // in case the stream was deleted: look again next time
		return fmt.Errorf("messaging: publish %s to NATS: %w", topic, err)
	}
	return nil
}

func (p *natsPublisher) publish(topic string, msgs []*message.Message) error {
	acks := make([]nats.PubAckFuture, 0, len(msgs))
	for _, msg := range msgs {
		m, err := p.marshaler.Marshal(topic, msg)
		if err != nil {
			return fmt.Errorf("marshal message %s: %w", msg.UUID, err)
		}
		ack, err := p.js.PublishMsgAsync(m, nats.MsgId(msg.UUID))
		if err != nil {
			return fmt.Errorf("send message %s: %w", msg.UUID, err)
		}
		acks = append(acks, ack)
	}
	timeout := time.NewTimer(natsAPIWait)
	defer timeout.Stop()
	for i, ack := range acks {
		select {
		case <-ack.Ok():
		case err := <-ack.Err():
			return fmt.Errorf("message %s: %w", msgs[i].UUID, err)
		case <-timeout.C:
			return fmt.Errorf("message %s: no publish ack within %s", msgs[i].UUID, natsAPIWait)
		}
	}
	return nil
}

// Close closes the publisher's connection.
func (p *natsPublisher) Close() error {
	p.conn.Close()
	return nil
}

// natsEnsureConsumer creates group's durable consumer on stream unless it
// exists. An existing consumer is left as it is.
func natsEnsureConsumer(js nats.JetStreamManager, stream, topic, group string) error {
	_, err := js.ConsumerInfo(stream, group)
	if err == nil {
		return nil
	}
	if !errors.Is(err, nats.ErrConsumerNotFound) {
		return fmt.Errorf("look up NATS consumer %s on %s: %w", group, stream, err)
	}
	_, err = js.AddConsumer(stream, &nats.ConsumerConfig{
		Durable:        group,
		Description:    "uberservice consumer group " + group,
		DeliverSubject: "_uberservice.deliver." + stream + "." + group,
		DeliverGroup:   group,
		DeliverPolicy:  nats.DeliverNewPolicy,
		AckPolicy:      nats.AckExplicitPolicy,
		AckWait:        ackWait,
		MaxDeliver:     -1,
		MaxAckPending:  natsMaxAckPending,
		FilterSubject:  topic,
		ReplayPolicy:   nats.ReplayInstantPolicy,
	})
	if err != nil {
		if _, infoErr := js.ConsumerInfo(stream, group); infoErr == nil {
			return nil // another instance created it meanwhile
		}
		return fmt.Errorf("create NATS consumer %s on %s: %w", group, stream, err)
	}
	return nil
}
