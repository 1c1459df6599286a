package messaging

import (
	"context"
	"log/slog"
	"time"

	"github.com/ThreeDotsLabs/watermill"
)

// SQLNotifyChannel is the channel the Postgres bus notifies on.
const SQLNotifyChannel = sqlNotifyChannel

// SQLRest rests the way a subscription of the Postgres bus on database url
// rests on topic after a poll that found nothing, for at most idle. stop
// stops its listener.
func SQLRest(url, topic string, idle time.Duration) (rest func(), stop func()) {
	waker := newSQLWaker(url, slog.New(slog.DiscardHandler))
	done := make(chan struct{})
	b := &sqlWakeBackoff{waker: waker, topic: topic, done: done, idle: idle}
	return func() { b.HandleError(watermill.NopLogger{}, true, nil) },
		func() { close(done); waker.Close() }
}

// RelayHold is r's hold of its module's requests, and Pass records how one
// of its passes ended (how many rows it found, and its error).
func RelayHold(r *Relay) (hold func(context.Context), pass func(rows int, err error)) {
	return r.hold, r.pass
}

// RelayBehindAt is how many rows a pass finds for the relay to hold requests.
const RelayBehindAt = behindAt
