package apptest

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/uberservice/uberservice/platform/contract"
	"github.com/uberservice/uberservice/platform/correlation"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/httpclient"
	"github.com/uberservice/uberservice/platform/messaging"
)

// Local is the in-process implementation of g in s; g's module must run in s.
func Local[T any](t testing.TB, s *System, g contract.Gateway[T]) T {
	t.Helper()
	impl, ok := s.System.Local(g.Name())
	if !ok {
		t.Fatalf("apptest: module %s provides no local gateway in this system", g.Name())
	}
	local, ok := impl.(T)
	if !ok {
		t.Fatalf("apptest: the local %s gateway is a %T", g.Name(), impl)
	}
	return local
}

// Remote is g as a module elsewhere reaches it: its HTTP client, talking to
// the server binding of g's module in s, calling as the Harness module.
func Remote[T any](s *System, g contract.Gateway[T], opts httpclient.Options) T {
	if opts.Credentials == nil {
		if signer, err := s.Keys.Signer(Harness); err == nil {
			opts.Credentials = func() (string, error) { return signer.Token(g.Name()) }
		}
	}
	return g.Client(httpclient.New(s.InternalURL(g.Name()), opts))
}

// EachImplementation runs test as a subtest against g's local implementation
// ("local") and against its HTTP client talking to the module's real server
// binding ("http"): a gateway's contract suite must pass both ways alike.
func EachImplementation[T any](t *testing.T, s *System, g contract.Gateway[T], test func(t *testing.T, impl T)) {
	t.Helper()
	local, remote := Local(t, s, g), Remote(s, g, httpclient.Options{})
	t.Run("local", func(t *testing.T) { test(t, local) })
	t.Run("http", func(t *testing.T) { test(t, remote) })
}

// Publish puts e on the bus under a new message id, as its producer's relay
// would, and returns the id. On the in-process bus it returns once every
// consumer has committed or recorded its failure, so the effect can be
// checked right after.
func (s *System) Publish(t testing.TB, e messaging.Event) string {
	t.Helper()
	payload, err := json.Marshal(e)
	if err != nil {
		t.Fatalf("apptest: encode %s: %v", e.Topic(), err)
	}
	id := uuid.NewString()
	s.Deliver(t, e.Topic(), id, payload)
	return id
}

// Deliver puts a message on the bus as it is given: the same id again (a
// redelivery), or a payload no producer would send.
func (s *System) Deliver(t testing.TB, topic, messageID string, payload []byte) {
	t.Helper()
	producer, _, _ := strings.Cut(topic, ".")
	msg := message.NewMessage(messageID, payload)
	msg.Metadata.Set(messaging.MetaProducer, producer)
	msg.Metadata.Set(messaging.MetaOccurredAt, time.Now().UTC().Format(time.RFC3339Nano))
	if err := s.Bus().Publisher().Publish(topic, msg); err != nil {
		t.Fatalf("apptest: publish %s: %v", topic, err)
	}
}

// DeadLetter is a failed message as GET /ops/dead-letters answers it.
type DeadLetter struct {
	ID        int64  `json:"id"`
	MessageID string `json:"message_id"`
	Handler   string `json:"handler"`
	Topic     string `json:"topic"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	LastError string `json:"last_error"`
}

// DeadLetters lists the failed messages of module through its ops API,
// every page of them.
func (s *System) DeadLetters(t testing.TB, module string) []DeadLetter {
	t.Helper()
	return Items[DeadLetter](t, s.InternalURL(module)+"/ops/dead-letters", s.Operator(t)...)
}

// DeadLetter returns module's dead letter of messageID, or the zero value
// when there is none.
func (s *System) DeadLetter(t testing.TB, module, messageID string) DeadLetter {
	t.Helper()
	for _, dl := range s.DeadLetters(t, module) {
		if dl.MessageID == messageID {
			return dl
		}
	}
	return DeadLetter{}
}

// Schema opens module's schema in s's database, for checks no API offers.
// It is closed when t ends.
func (s *System) Schema(t testing.TB, module string) *database.DB {
	t.Helper()
	db, err := database.Open(context.Background(), s.DB, module, database.PoolOptions{MaxOpen: 2})
	if err != nil {
		t.Fatalf("apptest: open the %s schema: %v", module, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// Subscribe reads topics on s's bus as one more consumer group, for the rest
// of t, so a test sees what a module publishes. Every message read must be
// acknowledged (Receive does): the in-process bus holds the producer's relay
// until it is. The subscription ends before the system stops.
func (s *System) Subscribe(t testing.TB, topics ...string) map[string]<-chan *message.Message {
	t.Helper()
	sub, err := s.Bus().Subscriber("apptest-" + uuid.NewString()[:8])
	if err != nil {
		t.Fatalf("apptest: subscribe: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel) // registered after Start's, so it runs before the system stops
	out := make(map[string]<-chan *message.Message, len(topics))
	for _, topic := range topics {
		ch, err := sub.Subscribe(ctx, topic)
		if err != nil {
			t.Fatalf("apptest: subscribe to %s: %v", topic, err)
		}
		out[topic] = ch
	}
	return out
}

// Receive waits up to 5s for the next message on ch, acknowledges it, checks
// that it carries the correlation id of the request that caused it, and
// decodes it into e.
func Receive(t testing.TB, ch <-chan *message.Message, correlationID string, e any) {
	t.Helper()
	select {
	case msg := <-ch:
		msg.Ack()
		if got := msg.Metadata.Get(correlation.MetadataKey); got != correlationID {
			t.Errorf("apptest: %s carries correlation id %q, want %q", msg.Payload, got, correlationID)
		}
		if err := json.Unmarshal(msg.Payload, e); err != nil {
			t.Fatalf("apptest: decode %s: %v", msg.Payload, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("apptest: no event within 5s (correlation id %s)", correlationID)
	}
}
