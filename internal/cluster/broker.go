package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	amqp "github.com/rabbitmq/amqp091-go"
)

// NATSURL is the NATS JetStream server of the machine:
// UBERSERVICE_TEST_NATS_URL, or nats://127.0.0.1:4222.
func NATSURL() string { return envOr("UBERSERVICE_TEST_NATS_URL", "nats://127.0.0.1:4222") }

// AMQPURL is the RabbitMQ server of the machine: UBERSERVICE_TEST_AMQP_URL,
// or amqp://guest:guest@127.0.0.1:5672/.
func AMQPURL() string {
	return envOr("UBERSERVICE_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
}

// IsBroker reports whether bus (a --bus value) names a broker, whose topics
// and consumer groups other deployments may share: NATS or RabbitMQ.
func IsBroker(bus string) bool {
	return strings.HasPrefix(bus, "nats://") || strings.HasPrefix(bus, "amqp://") || strings.HasPrefix(bus, "amqps://")
}

// DropNamespace removes what a deployment left on the broker of bus under the
// namespace ns, and nothing else: the NATS streams (with their consumers), or
// the RabbitMQ queues and exchanges of the topics in catalogue. Other buses
// keep nothing outside the database, and need nothing dropped.
func DropNamespace(ctx context.Context, bus, ns string, catalogue Catalogue) error {
	if ns == "" {
		return errors.New("cluster: drop namespace: no namespace given")
	}
	switch {
	case strings.HasPrefix(bus, "nats://"):
		return dropNATS(bus, ns)
	case strings.HasPrefix(bus, "amqp://"), strings.HasPrefix(bus, "amqps://"):
		return dropAMQP(ctx, bus, ns, catalogue)
	}
	return nil
}

func dropNATS(bus, ns string) error {
	nc, err := nats.Connect(bus, nats.Timeout(5*time.Second))
	if err != nil {
		return fmt.Errorf("cluster: drop namespace %s on NATS: %w", ns, err)
	}
	defer nc.Close()
	js, err := nc.JetStream(nats.MaxWait(5 * time.Second))
	if err != nil {
		return fmt.Errorf("cluster: drop namespace %s on NATS: %w", ns, err)
	}
	var mine []string
	for name := range js.StreamNames() {
		if strings.HasPrefix(name, ns+"_") {
			mine = append(mine, name)
		}
	}
	var errs []error
	for _, name := range mine {
		if err := js.DeleteStream(name); err != nil && !errors.Is(err, nats.ErrStreamNotFound) {
			errs = append(errs, fmt.Errorf("cluster: drop NATS stream %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// dropAMQP deletes, for every consumer group and topic of the catalogue, the
// queue "<ns>_<group>.<ns>.<topic>" and the exchange "<ns>.<topic>": the
// names the namespaced RabbitMQ bus gives them.
func dropAMQP(ctx context.Context, bus, ns string, catalogue Catalogue) error {
	conn, err := amqp.DialConfig(bus, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		return fmt.Errorf("cluster: drop namespace %s on RabbitMQ: %w", ns, err)
	}
	defer conn.Close()
	var errs []error
	do := func(what string, f func(*amqp.Channel) error) {
		if ctx.Err() != nil {
			return
		}
		ch, err := conn.Channel()
		if err == nil {
			err = f(ch)
			_ = ch.Close()
		}
		var ae *amqp.Error
		if err != nil && !(errors.As(err, &ae) && ae.Code == amqp.NotFound) {
			errs = append(errs, fmt.Errorf("cluster: drop RabbitMQ %s: %w", what, err))
		}
	}
	topics := map[string]bool{}
	for _, m := range catalogue.Modules {
		for _, topic := range m.Consumes {
			queue := ns + "_" + m.Name + "." + ns + "." + topic
			do("queue "+queue, func(ch *amqp.Channel) error {
				_, err := ch.QueueDelete(queue, false, false, false)
				return err
			})
			topics[topic] = true
		}
		for _, topic := range m.Publishes {
			topics[topic] = true
		}
	}
	for topic := range topics {
		exchange := ns + "." + topic
		do("exchange "+exchange, func(ch *amqp.Channel) error { return ch.ExchangeDelete(exchange, false, false) })
	}
	return errors.Join(errs...)
}
