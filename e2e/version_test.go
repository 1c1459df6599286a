package e2e

import (
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/uberservice/uberservice/internal/cluster"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/web"
)

// e2eVersion is the version the test's binary is linked with, as a release
// would set it (see package build).
const e2eVersion = "9.9.9-e2e"

// TestEveryInstanceKnowsItsVersion builds the binary with its version set at
// link time and runs the story's modules one per process on NATS: every
// module says that version and its process's instance id alike on /readyz,
// in the Uberservice-Instance header, in uberservice_build_info, and the
// events accounts writes carry it as producer_version, as the broker
// delivers them.
func TestEveryInstanceKnowsItsVersion(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	versioned, err := cluster.Build(ctx, t.TempDir(), cluster.BuildOptions{
		Flags: []string{"-ldflags", "-X github.com/uberservice/uberservice/platform/build.version=" + e2eVersion},
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := config("")
	cfg.Binary = versioned
	c := cluster.StartTB(t, cluster.Topology{Name: "version", Bus: cluster.NATSURL(), Processes: cluster.Each(moduleNames...)}, cfg)

	instances := map[string]string{}
	for _, m := range moduleNames {
		var ready struct{ Status, Version, Instance string }
		r := apptest.Do(t, http.MethodGet, c.URL(m)+"/readyz", nil).Expect(t, http.StatusOK)
		r.Decode(t, &ready)
		if ready.Status != "ready" || ready.Version != e2eVersion || ready.Instance == "" {
			t.Errorf("%s's /readyz: %+v, want ready, version %s and an instance", m, ready, e2eVersion)
		}
		instances[m] = ready.Instance
		want := m + "/" + e2eVersion + "/" + ready.Instance
		for _, u := range []string{c.URL(m) + "/readyz", c.URL(m) + "/no-such-route", c.InternalURL(m) + "/healthz"} {
			if got := apptest.Do(t, http.MethodGet, u, nil).Header.Get(web.InstanceHeader); got != want {
				t.Errorf("GET %s: %s %q, want %q", u, web.InstanceHeader, got, want)
			}
		}
		metrics := apptest.Do(t, http.MethodGet, c.InternalURL(m)+"/metrics", nil).Expect(t, http.StatusOK).Body
		info := regexp.MustCompile(`uberservice_build_info\{[^}]*instance_id="` + regexp.QuoteMeta(ready.Instance) + `"[^}]*version="` + regexp.QuoteMeta(e2eVersion) + `"`)
		if !info.Match(metrics) {
			t.Errorf("%s's /metrics has no uberservice_build_info of instance %s and version %s", m, ready.Instance, e2eVersion)
		}
	}
	if instances["accounts"] == instances["im"] {
		t.Errorf("accounts and im, in two processes, share the instance %s", instances["im"])
	}

	// An observer of the deposits, as one more consumer group on the cluster's
	// namespace: it subscribes before anything is deposited.
	const topic = "accounts.funds_deposited.v1"
	bus, err := messaging.Open(ctx, c.Bus(), messaging.Options{Namespace: c.Namespace(), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	sub, err := bus.Subscriber("e2e-version")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	msgs, err := sub.Subscribe(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	r := referred(t, c, "VER")
	deposit(t, c.URL("accounts"), r.customer, r.account.ID, 1000, 1000)
	select {
	case msg := <-msgs:
		msg.Ack()
		for k, want := range map[string]string{
			messaging.MetaProducer:         "accounts",
			messaging.MetaProducerVersion:  e2eVersion,
			messaging.MetaProducerInstance: instances["accounts"],
		} {
			if got := msg.Metadata.Get(k); got != want {
				t.Errorf("the deposit's %s = %q, want %q", k, got, want)
			}
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no %s reached the observer", topic)
	}
}
