package messaging

import (
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
