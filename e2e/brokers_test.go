package e2e

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/nats-io/nats.go"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/uberservice/uberservice/internal/cluster"
	"github.com/uberservice/uberservice/platform/deploy"
	"github.com/uberservice/uberservice/platform/messaging"
)

// brokerSuite holds the broker to the modules' declarations, in a topology
// whose modules each connect as a broker user of their own (BrokerUsers):
// with its own credentials, every module is refused by the broker itself the
// topics it does not publish, and the consumer groups of the others, while
// the suites before it showed the same users carry the whole story. It tries
// both through the messaging package, as a module's own process would, and
// with the broker's client alone, to see the broker's own refusal.
func brokerSuite(t *testing.T, c *cluster.Cluster) {
	var topics []string
	for _, m := range catalogue.Modules {
		topics = append(topics, m.Publishes...)
	}
	for _, m := range catalogue.Modules {
		foreign := slices.DeleteFunc(slices.Clone(topics), func(topic string) bool { return slices.Contains(m.Publishes, topic) })
		// Another module's consumer group, on a topic it consumes.
		var group, groupTopic string
		for _, o := range catalogue.Modules {
			if o.Name != m.Name && len(o.Consumes) > 0 {
				group, groupTopic = o.Name, o.Consumes[0]
				break
			}
		}
		t.Run(m.Name, func(t *testing.T) {
			t.Parallel()
			url := c.BusURL(m.Name)
			if url == c.Bus() {
				t.Fatalf("module %s connects as the administrator, not as a user of its own", m.Name)
			}
			refusedThroughMessaging(t, url, foreign[0])
			switch {
			case strings.HasPrefix(url, "nats://"):
				natsRefuses(t, url, m.Name, foreign, group, groupTopic)
			default:
				rabbitMQRefuses(t, url, foreign, group+"."+groupTopic)
			}
		})
	}
}

// refusedThroughMessaging publishes topic on the bus at url, as a module's
// relay would: the publish must fail. (On NATS it fails when the
// acknowledgement does not come, seconds later: one topic is enough here.)
func refusedThroughMessaging(t *testing.T, url string, topic string) {
	bus, err := messaging.Open(t.Context(), url, messaging.Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("open the bus as the module: %v", err)
	}
	defer bus.Close()
	msg := message.NewMessage(watermill.NewUUID(), []byte(`{}`))
	if err := bus.Publisher().Publish(topic, msg); err == nil {
		t.Errorf("publish %s: the broker took it", topic)
	}
}

// natsRefuses checks, with a plain NATS connection as the module, that the
// server answers a publish of each foreign topic and a subscription to
// group's delivery of topic with a permissions violation, and nothing else.
func natsRefuses(t *testing.T, url, module string, foreign []string, group, topic string) {
	var mu sync.Mutex
	var violations []string
	nc, err := nats.Connect(url, nats.Timeout(5*time.Second), nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		mu.Lock()
		defer mu.Unlock()
		violations = append(violations, err.Error())
	}))
	if err != nil {
		t.Fatalf("connect to NATS as %s: %v", module, err)
	}
	defer nc.Close()
	for _, topic := range foreign {
		if err := nc.Publish(topic, []byte(`{}`)); err != nil {
			t.Fatalf("publish %s: %v", topic, err)
		}
	}
	var want []string
	for _, topic := range foreign {
		want = append(want, `permissions violation for publish to "`+topic+`"`)
	}
	if group != "" {
		deliver := deploy.NATSDeliverSubject(group, topic)
		if _, err := nc.SubscribeSync(deliver); err != nil {
			t.Fatalf("subscribe %s: %v", deliver, err)
		}
		want = append(want, `permissions violation for subscription to "`+deliver+`"`)
	}
	if err := nc.Flush(); err != nil {
		t.Fatalf("flush: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		got := strings.ToLower(strings.Join(violations, "\n"))
		mu.Unlock()
		var missing []string
		for _, w := range want {
			if !strings.Contains(got, w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("NATS did not refuse %s:\n%s\nit said:\n%s", module, strings.Join(missing, "\n"), got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rabbitMQRefuses checks, with a plain AMQP connection as the module, that
// RabbitMQ closes the channel with ACCESS_REFUSED on a publish to each
// foreign topic's exchange and on consuming queue, another group's.
func rabbitMQRefuses(t *testing.T, url string, foreign []string, queue string) {
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("connect to RabbitMQ: %v", err)
	}
	defer conn.Close()
	refused := func(what string, do func(ch *amqp.Channel) error) {
		ch, err := conn.Channel()
		if err != nil {
			t.Fatalf("open a channel: %v", err)
		}
		closed := ch.NotifyClose(make(chan *amqp.Error, 1))
		err = do(ch)
		if err == nil {
			select {
			case e := <-closed:
				if e != nil {
					err = e
				}
			case <-time.After(5 * time.Second):
			}
		}
		var ae *amqp.Error
		if !errors.As(err, &ae) || ae.Code != amqp.AccessRefused {
			t.Errorf("%s: want ACCESS_REFUSED, got %v", what, err)
		}
		_ = ch.Close()
	}
	for _, topic := range foreign {
		refused("publish "+topic, func(ch *amqp.Channel) error {
			if err := ch.Confirm(false); err != nil {
				return err
			}
			return ch.PublishWithContext(t.Context(), topic, "", false, false, amqp.Publishing{Body: []byte(`{}`)})
		})
	}
	refused("consume "+queue, func(ch *amqp.Channel) error {
		_, err := ch.Consume(queue, "", false, false, false, false, nil)
		return err
	})
}
