package messaging_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/messaging"
)

// An idle subscription on the Postgres bus rests until its topic is notified,
// not for a fixed poll: here the rest would otherwise last a minute.
func TestAnIdlePostgresSubscriptionWakesOnItsTopicsNotification(t *testing.T) {
	url := apptest.FreshDatabase(t)
	rest, stop := messaging.SQLRest(url, "test.woken.v1", time.Minute)
	t.Cleanup(stop)
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	notify := func(topic string) {
		t.Helper()
		if _, err := conn.Exec(context.Background(), "SELECT pg_notify($1, $2)", messaging.SQLNotifyChannel, topic); err != nil {
			t.Fatal(err)
		}
	}

	rested := make(chan struct{})
	go func() { rest(); close(rested) }()
	// Another topic's notification leaves it resting; its own ends the rest.
	// The listener connects on the first rest: notify until it has heard.
	deadline := time.After(10 * time.Second)
	for {
		notify("test.other.v1")
		select {
		case <-rested:
			t.Fatal("woken by another topic's notification")
		case <-time.After(100 * time.Millisecond):
		}
		notify("test.woken.v1")
		select {
		case <-rested:
			return
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("still resting 10s after its topic was notified")
		}
	}
}
