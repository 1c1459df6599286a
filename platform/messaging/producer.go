package messaging

import (
	"context"

	"github.com/uberservice/uberservice/platform/build"
)

// Metadata keys that say which build of the producer wrote an event, beside
// MetaProducer (its module). With two versions of a module side by side, a
// consumer, a dead letter or an operator reading the broker can tell which
// one an event came from.
const (
	MetaProducerVersion  = "producer_version"
	MetaProducerInstance = "producer_instance"
)

// Producer is who wrote an event. Module is what a consumer group answers
// to; Version and Instance say which build and which process of it.
type Producer struct {
	Module, Version, Instance string
}

// SetInstance names the process that writes the outbox's events, as its
// metrics and traces name it (the runtime's instance id). Unset, events
// carry no producer_instance.
func (o *Outbox) SetInstance(instance string) { o.instance = instance }

// producer is the metadata the outbox stamps on every event it writes: it
// goes with the row, so an event relayed after an upgrade still names the
// version that wrote it.
func (o *Outbox) producer() map[string]string {
	md := map[string]string{MetaProducer: o.module, MetaProducerVersion: build.Version()}
	if o.instance != "" {
		md[MetaProducerInstance] = o.instance
	}
	return md
}

type producerKey struct{}

// withProducer gives ctx the producer an event's metadata names.
func withProducer(ctx context.Context, md map[string]string) context.Context {
	return context.WithValue(ctx, producerKey{}, Producer{
		Module: md[MetaProducer], Version: md[MetaProducerVersion], Instance: md[MetaProducerInstance],
	})
}

// ProducerOf is the producer of the event a handler is given ctx for, as
// the event's metadata names it; false outside a handler. An event written
// before producers were stamped, or by a producer outside the platform,
// names its module alone, or nothing.
func ProducerOf(ctx context.Context) (Producer, bool) {
	p, ok := ctx.Value(producerKey{}).(Producer)
	return p, ok
}
