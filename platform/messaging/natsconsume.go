package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	wmnats "github.com/ThreeDotsLabs/watermill-nats/v2/pkg/nats"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
)

// natsSubscriber is a consumer group's message.Subscriber on JetStream: it
// binds to the group's durable push consumer of each topic (created first,
// see natsEnsureConsumer) and hands its messages to watermill.
//
// It is written here, on nats.go, rather than taken from watermill-nats,
// for two things that package does differently:
//
//   - In flight: natsInFlight messages of a topic at a time, as the other
//     buses have several (the in-process lanes, RabbitMQ's prefetch), so
//     that a handler waiting on the database does not hold up the rest of
//     the topic, and batched handlers get batches. watermill-nats hands over one
//     message and waits for its ack before the next: a consumer on a busy
//     topic fell behind its producer for good.
//   - Closing: every message the server had pushed to this instance that no
//     handler took is given back at once (Nak), so that another instance, or
//     this one restarted, gets it now. watermill-nats drops them unanswered,
//     and they wait out ackWait: the group's natsMaxAckPending were all held
//     by such messages after a restart under load, and the server sent the
//     group nothing for 30 seconds.
//
// An ack does not wait for the server's confirmation: one that is lost only
// brings the message again after ackWait, and the inbox has recorded it.
type natsSubscriber struct {
	conn  *nats.Conn
	js    nats.JetStreamContext
	group string
	log   *slog.Logger

	closing   chan struct{}
	closeOnce sync.Once
	closeErr  error
	running   sync.WaitGroup // the subscriptions, until they have given back what they held
}

// natsInFlight is how many messages of one topic an instance of a group
// handles at once. Four keep a consumer up with a busy producer; sixteen
// held most of a module's connections (10 by default) and made its requests
// wait for them: warehouse's order_paid consumer beside its Reserve calls,
// 181 orders a second split against 218 with four.
const natsInFlight = 4

// natsCloseWait bounds how long closing waits for a handler that took a
// message to answer it, before giving the message back.
const natsCloseWait = 10 * time.Second

func newNATSSubscriber(url, group string, log *slog.Logger) (*natsSubscriber, error) {
	conn, js, err := natsConnect(url, "uberservice "+group, log)
	if err != nil {
		return nil, err
	}
	return &natsSubscriber{conn: conn, js: js, group: group, log: log.With("group", group), closing: make(chan struct{})}, nil
}

// Subscribe implements message.Subscriber. The channel closes once ctx ends
// or the subscriber closes, and every message taken from it has been
// answered or given back.
func (s *natsSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	select {
	case <-s.closing:
		return nil, errors.New("messaging: NATS subscriber closed")
	default:
	}
	stream, err := natsEnsureStream(s.js, topic)
	if err != nil {
		return nil, fmt.Errorf("messaging: subscribe %s: %w", topic, err)
	}
	if err := natsEnsureConsumer(s.js, stream, topic, s.group); err != nil {
		return nil, fmt.Errorf("messaging: subscribe %s: %w", topic, err)
	}
	// The server pushes at most natsMaxAckPending unacknowledged messages
	// to the group, so a buffer that size never overflows.
	pushed := make(chan *nats.Msg, natsMaxAckPending)
	sub, err := s.js.ChanQueueSubscribe(topic, s.group, pushed, nats.Bind(stream, s.group), nats.ManualAck())
	if err != nil {
		return nil, fmt.Errorf("messaging: subscribe %s to NATS consumer %s: %w", topic, s.group, err)
	}
	out := make(chan *message.Message)
	stop := make(chan struct{})
	var handing sync.WaitGroup
	for range natsInFlight {
		handing.Go(func() { s.hand(pushed, out, stop) })
	}
	s.running.Go(func() {
		select {
		case <-s.closing:
		case <-ctx.Done():
		}
		close(stop)
		if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			s.log.Warn("NATS unsubscribe", "topic", topic, "error", err)
		}
		handing.Wait()
		for {
			select {
			case m := <-pushed:
				s.answer(m, m.Nak, "give back")
			default:
				close(out)
				return
			}
		}
	})
	return out, nil
}

// hand passes the pushed messages to watermill one at a time and answers
// the server as the handler answers the message, until stop.
func (s *natsSubscriber) hand(pushed <-chan *nats.Msg, out chan<- *message.Message, stop <-chan struct{}) {
	for {
		var m *nats.Msg
		select {
		case <-stop:
			return
		case m = <-pushed:
		}
		msg, err := (&wmnats.NATSMarshaler{}).Unmarshal(m)
		if err != nil {
			// Not a message of ours: redelivering it cannot help.
			s.log.Error("NATS message that is no watermill message; dropped", "subject", m.Subject, "error", err)
			s.answer(m, m.Term, "drop")
			continue
		}
		ctx, cancel := context.WithCancel(context.Background())
		msg.SetContext(ctx)
		select {
		case out <- msg:
		case <-stop:
			cancel()
			s.answer(m, m.Nak, "give back")
			return
		}
		s.await(m, msg, stop)
		cancel()
	}
}

// await answers m as its handler answers msg. After stop it waits
// natsCloseWait for that answer at most, then gives m back.
func (s *natsSubscriber) await(m *nats.Msg, msg *message.Message, stop <-chan struct{}) {
	var late <-chan time.Time
	for {
		select {
		case <-msg.Acked():
			s.answer(m, m.Ack, "ack")
			return
		case <-msg.Nacked():
			s.answer(m, m.Nak, "nak")
			return
		case <-stop:
			stop, late = nil, time.After(natsCloseWait)
		case <-late:
			s.answer(m, m.Nak, "give back")
			return
		}
	}
}

// answer sends m's answer; a failure is logged, and the message comes
// again after ackWait.
func (s *natsSubscriber) answer(m *nats.Msg, send func(...nats.AckOpt) error, what string) {
	if err := send(); err != nil && !errors.Is(err, nats.ErrMsgAlreadyAckd) {
		s.log.Warn("NATS "+what+" failed; the message comes again after the ack wait", "subject", m.Subject, "error", err)
	}
}

// Close stops every subscription, gives back what was pushed and not
// handled, and closes the connection once its answers are sent. A second
// Close, even a concurrent one, waits for the first and returns its error.
func (s *natsSubscriber) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.running.Wait()
		s.closeErr = s.closeConn()
	})
	return s.closeErr
}

func (s *natsSubscriber) closeConn() error {
	defer s.conn.Close()
	if !s.conn.IsConnected() {
		return nil // the answers would not get through: their messages come again after ackWait
	}
	if err := s.conn.FlushTimeout(5 * time.Second); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return fmt.Errorf("messaging: close NATS subscriber %s: %w", s.group, err)
	}
	return nil
}
