package messaging

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"time"

	wmsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/uberservice/uberservice/platform/database"
)

// Postgres, through watermill-sql's PostgreSQL schema and offsets adapters,
// for setups with no broker.
//
// Layout: the tables live in their own schema, busSchema, reached through
// two pools of their own whose search_path is that schema, so they never mix
// with a module's tables. Per topic:
//   - "watermill_<topic>": the messages, one row each (payload as bytea, so it
//     round-trips byte for byte), created by the first Publish or Subscribe;
//   - "watermill_offsets_<topic>": per consumer group, the position of the
//     last acknowledged message. A group's row is created by Provision or
//     when the group first subscribes, positioned at that moment (the
//     library's default would start a new group at the very first message of
//     the topic).
//
// Guarantees:
//   - Publish returns once its autocommitted INSERT has committed.
//   - Delivery to a group: at least once, in (transaction id, offset) order.
//     A subscription reads a batch in a transaction that locks the group's
//     offsets row, hands the messages out one by one and advances the offset
//     when the batch is done; a crash mid-batch delivers the batch again. A
//     Nack redelivers the same message after sqlResendInterval, holding up
//     the group's later messages; so does a message left unacknowledged for
//     ackWait. Instances of a group take turns on the lock: one processes at
//     a time, and order holds across them.
//   - A message becomes visible once every transaction older than the one
//     that inserted it has ended (pg_snapshot_xmin), cluster-wide: a long
//     transaction anywhere delays delivery, never loses it.
//   - Messages are never deleted by the library: the tables grow until an
//     operator prunes rows every group has passed.
const busSchema = "uberservice_bus"

const (
	// sqlPollInterval is how often a subscription that has just had messages,
	// or has just been notified of some, asks again while it finds none: see
	// sqlwake.go for how an idle one rests.
	sqlPollInterval   = 50 * time.Millisecond
	sqlResendInterval = 500 * time.Millisecond
	sqlRetryInterval  = time.Second
	sqlBatchSize      = 20
	// sqlSubscriberConns bounds the subscriptions' pool. Each subscription holds
	// a connection while it hands out a batch; more subscriptions than
	// connections only adds latency.
	sqlSubscriberConns = 32
	sqlPublisherConns  = 8
)

func openSQL(ctx context.Context, databaseURL string, opts Options) (Bus, error) {
	log := watermillLogger(opts.Log.With("bus", "postgres"))
	pubDB, err := database.Open(ctx, databaseURL, busSchema, database.PoolOptions{MaxOpen: sqlPublisherConns})
	if err != nil {
		return nil, fmt.Errorf("messaging: postgres bus: %w", err)
	}
	subDB, err := database.Open(ctx, databaseURL, busSchema, database.PoolOptions{MaxOpen: sqlSubscriberConns})
	if err != nil {
		_ = pubDB.Close()
		return nil, fmt.Errorf("messaging: postgres bus: %w", err)
	}
	waker := newSQLWaker(databaseURL, opts.Log.With("bus", "postgres"))
	closeDBs := func() error {
		waker.Close()
		return errors.Join(pubDB.Close(), subDB.Close())
	}
	pubPool, err := pubDB.DB.DB()
	if err != nil {
		_ = closeDBs()
		return nil, fmt.Errorf("messaging: postgres bus: %w", err)
	}
	subPool, err := subDB.DB.DB()
	if err != nil {
		_ = closeDBs()
		return nil, fmt.Errorf("messaging: postgres bus: %w", err)
	}

	schema := wmsql.DefaultPostgreSQLSchema{
		GenerateMessagesTableName: func(topic string) string { return sqlTable("watermill_", topic) },
		GeneratePayloadType:       func(string) string { return "BYTEA" },
		SubscribeBatchSize:        sqlBatchSize,
	}
	offsets := sqlOffsets{wmsql.DefaultPostgreSQLOffsetsAdapter{
		GenerateMessagesOffsetsTableName: func(topic string) string { return sqlTable("watermill_offsets_", topic) },
	}}
	pub, err := wmsql.NewPublisher(wmsql.BeginnerFromStdSQL(pubPool), wmsql.PublisherConfig{
		SchemaAdapter:        schema,
		AutoInitializeSchema: true,
	}, log)
	if err != nil {
		_ = closeDBs()
		return nil, fmt.Errorf("messaging: postgres bus publisher: %w", err)
	}
	ackDeadline := ackWait
	// backoff nil: the library's, polling at sqlPollInterval (used only to
	// provision, which never polls).
	subscriber := func(group string, backoff wmsql.BackoffManager) (*wmsql.Subscriber, error) {
		return wmsql.NewSubscriber(wmsql.BeginnerFromStdSQL(subPool), wmsql.SubscriberConfig{
			ConsumerGroup:    group,
			AckDeadline:      &ackDeadline,
			PollInterval:     sqlPollInterval,
			ResendInterval:   sqlResendInterval,
			RetryInterval:    sqlRetryInterval,
			BackoffManager:   backoff,
			SchemaAdapter:    schema,
			OffsetsAdapter:   offsets,
			InitializeSchema: true,
		}, log)
	}
	return newBrokerBus("postgres", transport{
		pub: sqlPublisher{Publisher: pub, notify: func(ctx context.Context, topic string) error {
			_, err := pubPool.ExecContext(ctx, "SELECT pg_notify($1, $2)", sqlNotifyChannel, topic)
			return err
		}, log: opts.Log},
		subscribe: func(group string) (message.Subscriber, error) {
			return newSQLGroupSubscriber(waker, func(backoff wmsql.BackoffManager) (*wmsql.Subscriber, error) {
				return subscriber(group, backoff)
			}), nil
		},
		// What Subscribe does before it starts polling: create the topic's
		// tables (SubscribeInitialize), then run the offsets adapter's
		// before-subscribing queries, which insert the group's row at the
		// current position unless it has one. No poll, so nothing is consumed.
		provision: func(ctx context.Context, group, topic string) error {
			sub, err := subscriber(group, nil)
			if err != nil {
				return err
			}
			defer sub.Close()
			if err := sub.SubscribeInitialize(topic); err != nil {
				return fmt.Errorf("create the tables of %s: %w", topic, err)
			}
			queries, err := offsets.BeforeSubscribingQueries(wmsql.BeforeSubscribingQueriesParams{Topic: topic, ConsumerGroup: group})
			if err != nil {
				return err
			}
			for _, q := range queries {
				if _, err := subPool.ExecContext(ctx, q.Query, q.Args...); err != nil {
					return fmt.Errorf("create the offset of %s: %w", topic, err)
				}
			}
			return nil
		},
		closeConns: closeDBs,
		remove: func(ctx context.Context, group, topic string) error {
			return sqlRemove(ctx, func(ctx context.Context, q string, args ...any) error {
				_, err := subPool.ExecContext(ctx, q, args...)
				return err
			}, group, topic)
		},
	}), nil
}

// sqlTable is the quoted name of a table for topic: prefix+topic, shortened
// with a hash when it would pass Postgres' 63-byte limit on names (which
// would otherwise truncate it silently, and maybe onto another topic's).
// checkTopic has already limited topics to letters, digits, _, - and dots.
func sqlTable(prefix, topic string) string {
	name := prefix + topic
	if len(name) > 63 {
		h := fnv.New32a()
		_, _ = h.Write([]byte(topic))
		name = fmt.Sprintf("%s%s_%08x", prefix, topic[:63-len(prefix)-9], h.Sum32())
	}
	return `"` + name + `"`
}

// sqlOffsets starts a new consumer group at the moment it is provisioned or
// first subscribes:
// it skips the messages of every transaction that had ended by then (those
// below pg_snapshot_xmin) and gets those of every transaction still running
// and every later one. A group that has subscribed before keeps its offset.
type sqlOffsets struct {
	wmsql.DefaultPostgreSQLOffsetsAdapter
}

func (a sqlOffsets) BeforeSubscribingQueries(params wmsql.BeforeSubscribingQueriesParams) ([]wmsql.Query, error) {
	return []wmsql.Query{{
		// The select takes a group's messages with (transaction_id = last AND
		// offset > acked) OR transaction_id > last; offsets start at 1.
		Query: `INSERT INTO ` + a.MessagesOffsetsTable(params.Topic) + `
			(consumer_group, offset_acked, last_processed_transaction_id)
			VALUES ($1, 0, pg_snapshot_xmin(pg_current_snapshot()))
			ON CONFLICT DO NOTHING`,
		Args: []any{params.ConsumerGroup},
	}}, nil
}

// sqlPublisher bounds the insert by publishTimeout, and wakes the topic's
// subscriptions once it has committed.
type sqlPublisher struct {
	*wmsql.Publisher
	notify func(ctx context.Context, topic string) error
	log    *slog.Logger
}

// Publish returns once the messages' insert has committed.
func (p sqlPublisher) Publish(topic string, msgs ...*message.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	// The library runs the insert in the first message's context.
	ctx, cancel := context.WithTimeout(msgs[0].Context(), publishTimeout)
	defer cancel()
	bounded := make([]*message.Message, len(msgs))
	for i, m := range msgs {
		c := m.Copy()
		c.SetContext(ctx)
		bounded[i] = c
	}
	if err := p.Publisher.Publish(topic, bounded...); err != nil {
		return fmt.Errorf("messaging: publish %s to postgres: %w", topic, err)
	}
	// The messages are safe; a lost notification only delays them to the
	// subscriptions' next idle poll.
	if err := p.notify(ctx, topic); err != nil {
		p.log.Debug("postgres bus: notify subscribers", "topic", topic, "error", err)
	}
	return nil
}
