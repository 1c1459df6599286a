package messaging

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/nats-io/nats.go"
)

// GroupRemover is a Bus that can delete a consumer group's durable state:
// what `uberservice shadow remove` does to a shadow's group, which would
// otherwise keep, on NATS and RabbitMQ, a backlog that grows with every
// event. The in-process bus keeps no groups and is none.
type GroupRemover interface {
	// RemoveGroup deletes group's state on topics; a group or topic that
	// has none is no error.
	RemoveGroup(ctx context.Context, group string, topics []string) error
}

// RemoveGroup implements GroupRemover.
func (b *brokerBus) RemoveGroup(ctx context.Context, group string, topics []string) error {
	if err := checkGroup(group); err != nil {
		return err
	}
	for _, t := range topics {
		if err := checkTopic(t); err != nil {
			return err
		}
		if b.remove == nil {
			return fmt.Errorf("messaging: the %s bus cannot remove consumer groups", b.name)
		}
		if err := b.remove(ctx, group, t); err != nil {
			return fmt.Errorf("messaging: %s: remove consumer group %s from %s: %w", b.name, group, t, err)
		}
	}
	return nil
}

// RemoveGroup implements GroupRemover when the bus it wraps does.
func (n *namespaced) RemoveGroup(ctx context.Context, group string, topics []string) error {
	r, ok := n.Bus.(GroupRemover)
	if !ok {
		return fmt.Errorf("messaging: the %s bus cannot remove consumer groups", n.Bus.Name())
	}
	prefixed := make([]string, len(topics))
	for i, t := range topics {
		prefixed[i] = n.ns + "." + t
	}
	return r.RemoveGroup(ctx, n.ns+"_"+group, prefixed)
}

// natsRemove deletes group's durable consumer on topic's stream.
func natsRemove(js nats.JetStreamManager, group, topic string) error {
	err := js.DeleteConsumer(natsStream(topic), group)
	if errors.Is(err, nats.ErrConsumerNotFound) || errors.Is(err, nats.ErrStreamNotFound) {
		return nil
	}
	return err
}

// sqlRemove deletes group's row in topic's offsets table.
func sqlRemove(ctx context.Context, exec func(ctx context.Context, query string, args ...any) error, group, topic string) error {
	err := exec(ctx, "DELETE FROM "+sqlTable("watermill_offsets_", topic)+" WHERE consumer_group = $1", group)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // no such table: never provisioned
		return nil
	}
	return err
}
