// Package messaging moves a module's events from its outbox to the bus and from
// the bus into its handlers, exactly once in effect.
//
// Writers call Publish inside the transaction that changes state, so the event
// and the change commit together; a Relay forwards committed events to the bus.
// Consumers record each handled message in an inbox table in the handler's own
// transaction, so a redelivered message has no second effect. A handler that
// fails, or panics, is retried with backoff from a table, off the delivery path,
// and ends as a dead letter an operator can list and replay: one poison message
// never holds up the others.
package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
)

// Bus is a transport for events: one publisher for the process and a subscriber
// per consumer group. A module consumes as its own group, so several instances of
// one module share its events while every module sees every event.
type Bus interface {
	Publisher() message.Publisher
	Subscriber(group string) (message.Subscriber, error)
	// Provision creates the durable state of consumer group for topics
	// without consuming anything: from then on the broker keeps every message
	// published to those topics for the group, until the group subscribes and
	// takes them. A group otherwise exists only from its first subscription,
	// and misses what was published before. Provisioning a group that exists
	// leaves it, and its position, as it is. A no-op on a bus that keeps no
	// state for groups.
	Provision(ctx context.Context, group string, topics []string) error
	// Name says which transport this is, for logs and /readyz.
	Name() string
	// CrossProcess reports whether events published here reach consumers in
	// other processes. The runtime refuses a configuration whose events must
	// leave the process on a bus that cannot carry them.
	CrossProcess() bool
	Close() error
}

// Options configure Open.
type Options struct {
	// DatabaseURL is the database the "postgres" bus keeps its messages in: the
	// one every module shares, so that the bus reaches all of them.
	DatabaseURL string
	// Namespace, when set, prefixes every topic and consumer group, so that
	// several deployments (staging and production, or parallel test runs) can
	// share one broker without sharing events.
	Namespace string
	Log       *slog.Logger
}

// Open returns the bus that url names:
//   - "" or "gochannel": in-process (Watermill's GoChannel);
//   - "nats://host:port": NATS JetStream;
//   - "amqp://user:pass@host:port/": RabbitMQ;
//   - "postgres": Watermill's SQL pub/sub on Options.DatabaseURL, for setups
//     with no broker.
//
// On every cross-process bus a consumer group is durable: a module's instances
// share its events, every module sees every event it subscribes to, and an
// event published while a consumer is down is delivered when it returns. A
// group exists from its Provision or its first subscription, whichever comes
// first: `uberservice migrate` provisions every module's group, so that events
// published before a module first runs wait for it.
func Open(ctx context.Context, url string, opts Options) (Bus, error) {
	t, err := Lookup(url)
	if err != nil {
		return nil, err
	}
	return t.Open(ctx, opts)
}

var namespaceName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,30}$`)

// Transport is the kind of bus a URL names, known before anything is opened:
// start-up asks it whether events can leave the process, and refuses a
// configuration that would need them to, before connecting anywhere.
type Transport struct {
	url   string
	name  string
	cross bool
	open  func(ctx context.Context, url string, opts Options) (Bus, error)
}

// Lookup returns the transport url names (see Open), or an error naming the
// ones there are.
func Lookup(url string) (Transport, error) {
	switch {
	case url == "" || url == "gochannel":
		return Transport{url, "gochannel", false, func(_ context.Context, _ string, opts Options) (Bus, error) {
			return NewInProcess(opts.Log), nil
		}}, nil
	case strings.HasPrefix(url, "nats://"):
		return Transport{url, "nats", true, openNATS}, nil
	case strings.HasPrefix(url, "amqp://") || strings.HasPrefix(url, "amqps://"):
		return Transport{url, "rabbitmq", true, openAMQP}, nil
	case url == "postgres":
		return Transport{url, "postgres", true, func(ctx context.Context, _ string, opts Options) (Bus, error) {
			if opts.DatabaseURL == "" {
				return nil, errors.New("messaging: the postgres bus needs a database URL")
			}
			return openSQL(ctx, opts.DatabaseURL, opts)
		}}, nil
	}
	return Transport{}, fmt.Errorf("messaging: unknown bus %q (want gochannel, nats://..., amqp://... or postgres)", url)
}

// Name says which transport this is: gochannel, nats, rabbitmq or postgres.
func (t Transport) Name() string { return t.name }

// CrossProcess reports whether the transport carries events between
// processes, as Bus.CrossProcess does once it is open.
func (t Transport) CrossProcess() bool { return t.cross }

// Open connects to the bus.
func (t Transport) Open(ctx context.Context, opts Options) (Bus, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Namespace != "" && !namespaceName.MatchString(opts.Namespace) {
		return nil, fmt.Errorf("messaging: namespace %q: use lowercase letters, digits, _ and -", opts.Namespace)
	}
	bus, err := t.open(ctx, t.url, opts)
	if err != nil || opts.Namespace == "" {
		return bus, err
	}
	return &namespaced{Bus: bus, ns: opts.Namespace}, nil
}

// InProcess is a Bus for modules that share a process: Watermill's GoChannel.
//
// Publish blocks until every subscriber has acknowledged the message, that is
// until each consuming handler has committed (or durably recorded its failure).
// The relay deletes an outbox row only after that, so a crash can never lose an
// event that was only in memory.
//
// A GoChannel that waits for acknowledgements carries one message per topic at
// a time, so a consumer could only ever run one handler at a time: a handler
// transaction of a millisecond would cap a topic at about a thousand events a
// second, well below what one module can commit. The bus therefore runs
// several GoChannels side by side, its lanes. A batch published on a topic is
// dealt out over the lanes, which deliver in parallel; every consumer group
// subscribes on every lane, so it still sees each message once. Order holds
// within a lane, not across lanes: like every cross-process bus, this one does
// not promise that two events of a topic are handled in the order they were
// published, and handlers do not rely on it. (The relay keeps the order of
// events of different topics: it publishes them in separate batches.)
type InProcess struct {
	lanes []*gochannel.GoChannel
	next  atomic.Uint64 // the lane of the next message: round robin
}

// inProcessLanes is how many messages of one topic a consumer group may be
// handling at once in one process. Thirty-two keeps two cores busy while
// handlers wait on the database, and costs 32 idle goroutines per
// subscription.
const inProcessLanes = 32

// NewInProcess returns an in-process bus.
func NewInProcess(log *slog.Logger) *InProcess {
	wlog := watermill.NewSlogLoggerWithLevelMapping(log, map[slog.Level]slog.Level{slog.LevelInfo: slog.LevelDebug})
	b := &InProcess{lanes: make([]*gochannel.GoChannel, inProcessLanes)}
	for i := range b.lanes {
		b.lanes[i] = gochannel.NewGoChannel(gochannel.Config{BlockPublishUntilSubscriberAck: true}, wlog)
	}
	return b
}

// Publisher implements Bus.
func (b *InProcess) Publisher() message.Publisher { return inProcessPublisher{b} }

type inProcessPublisher struct{ b *InProcess }

// Publish deals msgs out over the lanes, keeping their order within each, and
// returns once every subscriber has acknowledged every message.
func (p inProcessPublisher) Publish(topic string, msgs ...*message.Message) error {
	lanes := p.b.lanes
	if len(msgs) == 1 {
		return lanes[p.b.next.Add(1)%uint64(len(lanes))].Publish(topic, msgs...)
	}
	first := p.b.next.Add(uint64(len(msgs))) - uint64(len(msgs))
	dealt := make([][]*message.Message, len(lanes))
	for i, m := range msgs {
		lane := (first + uint64(i)) % uint64(len(lanes))
		dealt[lane] = append(dealt[lane], m)
	}
	errs := make([]error, len(lanes))
	var wg sync.WaitGroup
	for i, batch := range dealt {
		if len(batch) == 0 {
			continue
		}
		wg.Go(func() { errs[i] = lanes[i].Publish(topic, batch...) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Close implements message.Publisher; the bus closes the lanes.
func (inProcessPublisher) Close() error { return nil }

// Subscriber implements Bus. In one process there is one instance of each module,
// so the group needs no broker-side state. Each group gets its own view of the
// shared lanes: Watermill's router closes its subscriber when it stops, and
// that must end this group's subscriptions, not every module's.
func (b *InProcess) Subscriber(string) (message.Subscriber, error) {
	ctx, cancel := context.WithCancel(context.Background())
	return &groupSubscriber{lanes: b.lanes, closed: ctx, close: cancel}, nil
}

type groupSubscriber struct {
	lanes  []*gochannel.GoChannel
	closed context.Context
	close  context.CancelFunc
}

// Subscribe subscribes on every lane for as long as both ctx and the group are
// open, and merges the lanes into one channel. The channel closes when every
// lane's has.
func (g *groupSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	ctx, cancel := context.WithCancel(ctx)
	context.AfterFunc(g.closed, cancel)
	out := make(chan *message.Message)
	var wg sync.WaitGroup
	for _, lane := range g.lanes {
		in, err := lane.Subscribe(ctx, topic)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("messaging: subscribe to %s: %w", topic, err)
		}
		wg.Go(func() {
			for m := range in {
				select {
				case out <- m:
				case <-ctx.Done():
					m.Nack() // nobody reads any more; the lane is closing too
				}
			}
		})
	}
	go func() { wg.Wait(); close(out) }()
	return out, nil
}

// Close ends the group's subscriptions and leaves the lanes to the others.
func (g *groupSubscriber) Close() error {
	g.close()
	return nil
}

// Provision implements Bus: in one process there is nothing to keep for a
// group that has not subscribed yet, since its module starts with the
// publishers.
func (b *InProcess) Provision(context.Context, string, []string) error { return nil }

// Name implements Bus.
func (b *InProcess) Name() string { return "gochannel" }

// CrossProcess implements Bus: GoChannel lives in this process only.
func (b *InProcess) CrossProcess() bool { return false }

// Close implements Bus.
func (b *InProcess) Close() error {
	errs := make([]error, len(b.lanes))
	for i, lane := range b.lanes {
		errs[i] = lane.Close()
	}
	return errors.Join(errs...)
}

// namespaced prefixes the topics ("ns.accounts.funds_deposited.v1") and the
// consumer groups ("ns_im") of the bus it wraps.
type namespaced struct {
	Bus
	ns string
}

func (n *namespaced) Publisher() message.Publisher {
	return prefixedPublisher{n.Bus.Publisher(), n.ns + "."}
}

func (n *namespaced) Subscriber(group string) (message.Subscriber, error) {
	sub, err := n.Bus.Subscriber(n.ns + "_" + group)
	if err != nil {
		return nil, err
	}
	return prefixedSubscriber{sub, n.ns + "."}, nil
}

func (n *namespaced) Provision(ctx context.Context, group string, topics []string) error {
	prefixed := make([]string, len(topics))
	for i, t := range topics {
		prefixed[i] = n.ns + "." + t
	}
	return n.Bus.Provision(ctx, n.ns+"_"+group, prefixed)
}

func (n *namespaced) Name() string { return n.Bus.Name() + " (namespace " + n.ns + ")" }

type prefixedPublisher struct {
	message.Publisher
	prefix string
}

func (p prefixedPublisher) Publish(topic string, msgs ...*message.Message) error {
	return p.Publisher.Publish(p.prefix+topic, msgs...)
}

type prefixedSubscriber struct {
	message.Subscriber
	prefix string
}

func (s prefixedSubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	return s.Subscriber.Subscribe(ctx, s.prefix+topic)
}
