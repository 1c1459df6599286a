package messaging

import (
	"time"

	"github.com/uberservice/uberservice/platform/metrics"
)

// The hooks by which the relay and the consumers record what they do in
// package metrics' vectors (uberservice_relay_*, uberservice_consumer_*).

// published records n events of topic that the relay of module handed to
// the bus. A pass that then fails to delete them hands them over again, and
// they are counted again: they were published twice.
func published(module, topic string, n int) {
	if !metrics.Recording() {
		return
	}
	metrics.RelayPublished.WithLabelValues(module, topic).Add(float64(n))
}

// relayFailed records a relay pass of module that failed.
func relayFailed(module string) {
	if metrics.Recording() {
		metrics.RelayFailures.WithLabelValues(module).Inc()
	}
}

// delivered records a message of topic that the bus delivered to module.
func delivered(module, topic string) {
	if !metrics.Recording() {
		return
	}
	metrics.ConsumerDeliveries.WithLabelValues(module, topic).Inc()
}

// handled records a message of topic that module handled (or found handled
// already), and how long after the event occurred: the time its producer
// wrote it to the outbox, in its metadata. A message with no such time (a
// producer outside the platform) is counted, and its lag is not observed.
func handled(module, topic string, md map[string]string) {
	if !metrics.Recording() {
		return
	}
	metrics.ConsumerHandled.WithLabelValues(module, topic).Inc()
	if at, err := time.Parse(time.RFC3339Nano, md[MetaOccurredAt]); err == nil {
		metrics.ConsumerLag.WithLabelValues(module, topic).Observe(max(time.Since(at).Seconds(), 0))
	}
}

// retried records an automatic retry of a failed message of topic.
func retried(module, topic string) {
	if metrics.Recording() {
		metrics.ConsumerRetries.WithLabelValues(module, topic).Inc()
	}
}

// deadLettered records a message of topic that became a dead letter.
func deadLettered(module, topic string) {
	if !metrics.Recording() {
		return
	}
	metrics.ConsumerDeadLettered.WithLabelValues(module, topic).Inc()
}

// subscribed records that module's consumers in this process read topics
// now, or, with on false, no longer: during a rolling upgrade the old
// instances of a module read one version of a topic and the new ones
// another, and only the running processes can say which (see the console).
func subscribed(module string, topics []string, on bool) {
	for _, t := range topics {
		if on {
			metrics.ConsumerSubscribed.WithLabelValues(module, t).Set(1)
		} else {
			metrics.ConsumerSubscribed.DeleteLabelValues(module, t)
		}
	}
}
