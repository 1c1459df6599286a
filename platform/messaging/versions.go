package messaging

import (
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"

	"github.com/ThreeDotsLabs/watermill/message"
)

// Two versions of a topic, side by side.
//
// A change to an event that breaks its consumers gets a new topic
// ("accounts.funds_deposited.v2"). Consumers move to it one at a time, and
// one module moves instance by instance in a rolling upgrade, so for a while
// the old version must still be published: to its old readers, and to the old
// instances of a module whose new ones read the new version.
//
// The publisher declares the conversion once, in its events package, as a
// method of the new event that returns the event as the old version says it
// (Versioned), and writes only the new version, in one outbox row. The relay
// publishes that row on the new topic as written and on every older one
// converted, all with the row's message id. A consumer's inbox key is the
// module and the topic of the oldest version (see handlerKey), not the
// version it reads: whichever copy of an event one of its instances handles
// first, the others find it handled, and an event has its effect once in a
// module whose old instances read v1 while its new ones read v2.
//
// Publishing the old version stops when the publisher's events package drops
// the conversion (and the module its topic): `uberservice modules` says who
// still consumes each topic, so that nobody is dropped while they read it.

// Versioned is an event that has an older version still published: Previous
// returns the event as that version's consumers read it. The conversion must
// depend on the event alone (the relay applies it to the stored payload, and
// the consumers to a zero value to learn the topics of the versions), and
// Previous may itself return a Versioned event, for a third version.
//
// An events package declares it without importing this package:
//
//	func (e FundsDepositedV2) Previous() interface{ Topic() string } { ... }
type Versioned interface {
	Event
	Previous() Event
}

// MetaVersionOf is the metadata key that the relay sets on a message it
// converted to an older version: the topic of the version written.
const MetaVersionOf = "version_of"

// Older lists the topics of the older versions an event of e's type is
// published on as well, newest first; nil for an event with one version.
func Older(e Event) []string {
	var topics []string
	for v, ok := e.(Versioned); ok; v, ok = e.(Versioned) {
		e = v.Previous()
		topics = append(topics, e.Topic())
	}
	return topics
}

// handlerKey is what a module's inbox and dead letters know the handler of
// events like e by: the module and the topic of the event's oldest version.
// Every version of one topic shares it, so that the copies of one event on
// several versions are one message to the module. For an event with one
// version it is the module and its topic, as it has always been.
func handlerKey(module string, e Event) string {
	topic := e.Topic()
	if o := Older(e); len(o) > 0 {
		topic = o[len(o)-1]
	}
	return module + "." + topic
}

// Versions converts the outbox rows of a module's versioned topics into their
// older versions. Its zero value converts nothing.
type Versions struct {
	decode map[string]reflect.Type // topic written -> its event's type
}

// NewVersions knows the versioned events among payloads, a module's declared
// events (app.Module.Payloads): the relay converts only what is declared
// there, and the outbox refuses to write a versioned event that is not.
func NewVersions(payloads []Event) Versions {
	v := Versions{decode: map[string]reflect.Type{}}
	for _, p := range payloads {
		if _, ok := p.(Versioned); ok {
			v.decode[p.Topic()] = reflect.TypeOf(p)
		}
	}
	return v
}

// knows reports whether the relay can convert events like e: true for an
// event with one version.
func (v Versions) knows(e Event) bool {
	if _, ok := e.(Versioned); !ok {
		return true
	}
	t, ok := v.decode[e.Topic()]
	return ok && t == reflect.TypeOf(e)
}

// convert returns msgs, written on topic, as every older version of topic,
// newest first: the same message ids and metadata, payloads converted. It
// returns nothing for a topic with one version.
func (v Versions) convert(topic string, msgs []*message.Message) ([]versionBatch, error) {
	t, ok := v.decode[topic]
	if !ok {
		return nil, nil
	}
	var out []versionBatch
	for i, msg := range msgs {
		ptr := reflect.New(t)
		if err := json.Unmarshal(msg.Payload, ptr.Interface()); err != nil {
			return nil, fmt.Errorf("decode %s message %s to convert it: %w", topic, msg.UUID, err)
		}
		e := ptr.Elem().Interface().(Event)
		for n := 0; ; n++ {
			vd, ok := e.(Versioned)
			if !ok {
				break
			}
			e = vd.Previous()
			payload, err := json.Marshal(e)
			if err != nil {
				return nil, fmt.Errorf("encode %s message %s: %w", e.Topic(), msg.UUID, err)
			}
			conv := message.NewMessage(msg.UUID, payload)
			conv.Metadata = maps.Clone(msg.Metadata)
			conv.Metadata.Set(MetaVersionOf, topic)
			if i == 0 {
				out = append(out, versionBatch{topic: e.Topic()})
			}
			if n >= len(out) || out[n].topic != e.Topic() {
				return nil, fmt.Errorf("message %s of %s converts to %s, not as the others", msg.UUID, topic, e.Topic())
			}
			out[n].msgs = append(out[n].msgs, conv)
		}
	}
	return out, nil
}

// versionBatch is a batch of messages converted to one older version.
type versionBatch struct {
	topic string
	msgs  []*message.Message
}

// checkVersions is the outbox's check of a versioned event: its older
// versions' topics must be declared too, and the event among the module's
// payloads, or the relay could not publish them.
func (o *Outbox) checkVersions(e Event) error {
	if !o.versions.knows(e) {
		return fmt.Errorf("module %s publishes %s, a versioned event, without declaring it in Payloads: %w",
			o.module, e.Topic(), ErrUndeclaredTopic)
	}
	for _, t := range Older(e) {
		if !slices.Contains(o.topics, t) {
			return fmt.Errorf("module %s publishes %s, an older version of %s: %w", o.module, t, e.Topic(), ErrUndeclaredTopic)
		}
	}
	return nil
}

// WithVersions returns the outbox, refusing versioned events that v cannot
// convert (see NewVersions).
func (o *Outbox) WithVersions(v Versions) *Outbox {
	o.versions = v
	return o
}

// WithVersions makes the relay publish every row of a versioned topic of v on
// the topics of its older versions too.
func (r *Relay) WithVersions(v Versions) *Relay {
	r.versions = v
	return r
}

// publishOlder publishes msgs, just published on topic, on the topics of its
// older versions. Should one fail, the rows stay in the outbox and every
// version is published again: the consumers' inboxes absorb the copies.
func (r *Relay) publishOlder(topic string, msgs []*message.Message) error {
	batches, err := r.versions.convert(topic, msgs)
	if err != nil {
		return err
	}
	for _, b := range batches {
		sent := r.startSend(b.topic, b.msgs)
		err := r.pub.Publish(b.topic, b.msgs...)
		sent(err)
		if err != nil {
			return fmt.Errorf("publish %s (an older version of %s): %w", b.topic, topic, err)
		}
		published(r.producer, b.topic, len(b.msgs))
	}
	return nil
}
