package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"gorm.io/gorm"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/build"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/web"
)

// Every instance knows its version: the instance id of
// uberservice_build_info is on /readyz beside the build's version, in the
// Uberservice-Instance header of every response of both servers, on every
// log line and in every event's metadata.
func TestEveryInstanceKnowsItsVersion(t *testing.T) {
	t.Parallel()
	alpha := app.Module{Name: "alpha", Migrations: schema, Publishes: []string{declared{}.Topic()},
		Init: func(_ context.Context, env *app.Env) error {
			env.HTTP.POST("/v1/declared", func(c echo.Context) error {
				ctx := c.Request().Context()
				if err := env.DB.Transact(ctx, func(tx *gorm.DB) error { return env.Outbox.Publish(ctx, tx, declared{}) }); err != nil {
					return err
				}
				return c.NoContent(http.StatusNoContent)
			})
			return nil
		}}
	var logs lockedBuffer
	sys := apptest.Start(t, []app.Module{alpha}, app.Config{Log: slog.New(slog.NewJSONHandler(&logs, nil))})

	metrics := apptest.Do(t, http.MethodGet, sys.InternalURL("alpha")+app.MetricsPath, nil).Expect(t, http.StatusOK).Body
	m := regexp.MustCompile(`uberservice_build_info\{[^}]*instance_id="([^"]+)"[^}]*version="([^"]+)"`).FindSubmatch(metrics)
	if m == nil {
		t.Fatalf("no uberservice_build_info with instance_id and version in:\n%s", metrics)
	}
	instance, version := string(m[1]), string(m[2])
	if version != build.Version() {
		t.Errorf("uberservice_build_info's version %q, want %q", version, build.Version())
	}
	header := "alpha/" + version + "/" + instance

	for _, base := range []string{sys.URL("alpha"), sys.InternalURL("alpha")} {
		r := apptest.Do(t, http.MethodGet, base+"/readyz", nil).Expect(t, http.StatusOK)
		body := r.JSON(t)
		if body["status"] != "ready" || body["checks"] == nil || body["version"] != version || body["instance"] != instance {
			t.Errorf("%s/readyz: %v, want ready, its checks, version %s, instance %s", base, body, version, instance)
		}
		for status, r := range map[int]apptest.Response{
			http.StatusOK:       r,
			http.StatusNotFound: apptest.Do(t, http.MethodGet, base+"/nope", nil),
		} {
			if got := r.Header.Get(web.InstanceHeader); r.Status != status || got != header {
				t.Errorf("%s (%d): %s %q, want %q", base, r.Status, web.InstanceHeader, got, header)
			}
		}
	}

	msgs := sys.Subscribe(t, declared{}.Topic())
	apptest.Do(t, http.MethodPost, sys.URL("alpha")+"/v1/declared", nil, sys.Person(t, "ann", identity.Customer)...).Expect(t, http.StatusNoContent)
	select {
	case msg := <-msgs[declared{}.Topic()]:
		msg.Ack()
		for k, want := range map[string]string{messaging.MetaProducer: "alpha", messaging.MetaProducerVersion: version, messaging.MetaProducerInstance: instance} {
			if got := msg.Metadata.Get(k); got != want {
				t.Errorf("the event's %s = %q, want %q", k, got, want)
			}
		}
	case <-time.After(5 * time.Second):
		t.Fatal("alpha's event did not reach the bus")
	}

	started := false
	for line := range bytes.Lines(logs.Bytes()) {
		var rec map[string]any
		if err := json.Unmarshal(line, &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["version"] != version || rec["instance"] != instance {
			t.Errorf("log line without version %s and instance %s: %s", version, instance, line)
		}
		started = started || rec["msg"] == "module started"
	}
	if !started {
		t.Error("no log line says alpha started")
	}
}

// lockedBuffer is a log's buffer, written by the system's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
