package metrics_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/database"
	"github.com/uberservice/uberservice/platform/metrics"
)

func newRegistry() *metrics.Registry {
	return metrics.NewRegistry(slog.New(slog.DiscardHandler), "test-instance", "")
}

// A registry serves the build, the Go runtime and the process from the start.
func TestARegistryServesTheBuildAndTheRuntime(t *testing.T) {
	reg := newRegistry()
	n, err := testutil.GatherAndCount(reg.Gatherer(), "uberservice_build_info", "go_goroutines", "process_start_time_seconds")
	if err != nil || n != 3 {
		t.Fatalf("gathered %d of build_info, go_goroutines, process_start_time_seconds (%v), want 3", n, err)
	}
	body := scrape(t, reg)
	if !strings.Contains(body, "uberservice_build_info{") || !strings.Contains(body, `goversion="go`) {
		t.Errorf("the scrape has no build info with its Go version:\n%s", body)
	}
}

// A module's gauges are read at the scrape, labelled with the module; a read
// that fails leaves its family out and the scrape whole. Its counter counts.
func TestAModuleDeclaresGaugesAndCounters(t *testing.T) {
	reg := newRegistry()
	read := func(context.Context) ([]metrics.Sample, error) {
		return []metrics.Sample{{Labels: []string{"order", "debiting"}, Value: 3}, {Labels: []string{"order", "reserving"}, Value: 0}}, nil
	}
	if err := reg.Gauge("shop", "saga_states", "Sagas by state.", []string{"saga", "state"}, read); err != nil {
		t.Fatal(err)
	}
	broken := func(context.Context) ([]metrics.Sample, error) { return nil, errors.New("database down") }
	if err := reg.Gauge("other", "saga_states", "Sagas by state.", []string{"saga", "state"}, broken); err != nil {
		t.Fatal(err)
	}
	c, err := reg.Counter("shop", "saga_recoveries_total", "Recoveries.", "saga")
	if err != nil {
		t.Fatal(err)
	}
	c.Inc("order")
	c.Add(2, "order")
	var none *metrics.Counter
	none.Inc("order") // counts nothing, and does not panic

	want := `
# HELP uberservice_saga_recoveries_total Recoveries.
# TYPE uberservice_saga_recoveries_total counter
uberservice_saga_recoveries_total{module="shop",saga="order"} 3
# HELP uberservice_saga_states Sagas by state.
# TYPE uberservice_saga_states gauge
uberservice_saga_states{module="shop",saga="order",state="debiting"} 3
uberservice_saga_states{module="shop",saga="order",state="reserving"} 0
`
	if err := testutil.GatherAndCompare(reg.Gatherer(), strings.NewReader(want),
		"uberservice_saga_states", "uberservice_saga_recoveries_total"); err != nil {
		t.Error(err)
	}
	if _, err := reg.Counter("shop", "saga_recoveries_total", "Recoveries.", "saga"); err == nil {
		t.Error("a module declared the same counter twice without an error")
	}
}

// The outbox, the dead letters and the mail of a module's schema are read at
// each scrape, every known status reported, 0 when no row has it.
func TestTheTablesAreReadAtTheScrape(t *testing.T) {
	url := apptest.FreshDatabase(t)
	db := platformSchema(t, url, "shop")
	exec(t, db, `INSERT INTO outbox (message_id, topic, payload, created_at) VALUES
		(gen_random_uuid(), 't', '{}', now() - interval '90 seconds'), (gen_random_uuid(), 't', '{}', now())`)
	exec(t, db, `INSERT INTO dead_letters (message_id, handler, topic, payload, status, attempts, last_error) VALUES
		('a', 'h', 't', '{}', 'dead', 5, 'x'), ('b', 'h', 't', '{}', 'dead', 5, 'x'), ('c', 'h', 't', '{}', 'retrying', 1, 'x')`)
	exec(t, db, `INSERT INTO notifications (id, owner_ref, recipient, subject, body, status) VALUES
		(gen_random_uuid(), 'o', 'r@example.com', 's', 'b', 'pending'), (gen_random_uuid(), 'o', 'r@example.com', 's', 'b', 'recorded')`)
	empty := platformSchema(t, url, "quiet")

	reg := newRegistry()
	addDatabase(t, reg, "shop", db)
	addDatabase(t, reg, "quiet", empty)
	want := `
# HELP uberservice_dead_letters Failed messages, by status: retrying, or dead (waiting for an operator).
# TYPE uberservice_dead_letters gauge
uberservice_dead_letters{module="quiet",status="dead"} 0
uberservice_dead_letters{module="quiet",status="retrying"} 0
uberservice_dead_letters{module="shop",status="dead"} 2
uberservice_dead_letters{module="shop",status="retrying"} 1
# HELP uberservice_mail_messages Emails in the module's notifications, by status.
# TYPE uberservice_mail_messages gauge
uberservice_mail_messages{module="quiet",status="failed"} 0
uberservice_mail_messages{module="quiet",status="pending"} 0
uberservice_mail_messages{module="quiet",status="recorded"} 0
uberservice_mail_messages{module="quiet",status="sent"} 0
uberservice_mail_messages{module="shop",status="failed"} 0
uberservice_mail_messages{module="shop",status="pending"} 1
uberservice_mail_messages{module="shop",status="recorded"} 1
uberservice_mail_messages{module="shop",status="sent"} 0
# HELP uberservice_outbox_pending Events in the outbox not yet relayed to the bus.
# TYPE uberservice_outbox_pending gauge
uberservice_outbox_pending{module="quiet"} 0
uberservice_outbox_pending{module="shop"} 2
`
	if err := testutil.GatherAndCompare(reg.Gatherer(), strings.NewReader(want),
		"uberservice_outbox_pending", "uberservice_dead_letters", "uberservice_mail_messages"); err != nil {
		t.Error(err)
	}
	ages := gauges(t, reg, "uberservice_outbox_oldest_age_seconds")
	if ages["quiet"] != 0 || ages["shop"] < 90 || ages["shop"] > 120 {
		t.Errorf("oldest ages = %v, want quiet 0 and shop about 90s", ages)
	}
	if n, err := testutil.GatherAndCount(reg.Gatherer(), "go_sql_open_connections"); err != nil || n != 2 {
		t.Errorf("go_sql_open_connections has %d series (%v), want one per module", n, err)
	}
}

// A module whose database does not answer in time loses its table gauges
// from the scrape; the scrape still answers, with every other module's.
func TestASlowDatabaseCostsOnlyItsOwnGauges(t *testing.T) {
	url := apptest.FreshDatabase(t)
	slow, fast := platformSchema(t, url, "slow"), platformSchema(t, url, "fast")
	reg := newRegistry()
	addDatabase(t, reg, "slow", slow)
	addDatabase(t, reg, "fast", fast)

	tx := slow.Begin() // holds the outbox, so the scrape's count waits
	if err := tx.Exec("LOCK TABLE outbox IN ACCESS EXCLUSIVE MODE").Error; err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	body := scrape(t, reg)
	if !strings.Contains(body, `uberservice_outbox_pending{module="fast"} 0`) {
		t.Errorf("the scrape lost the fast module's outbox:\n%s", grep(body, "outbox"))
	}
	if strings.Contains(body, `uberservice_outbox_pending{module="slow"}`) {
		t.Errorf("the scrape waited for the slow module's outbox:\n%s", grep(body, "outbox"))
	}
	if !strings.Contains(body, `go_sql_open_connections{db_name="slow"}`) {
		t.Error("the slow module's pool is gone from the scrape too")
	}
}

func scrape(t *testing.T, reg *metrics.Registry) string {
	t.Helper()
	rec := httptest.NewRecorder()
	reg.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 {
		t.Fatalf("scrape: %d %s", rec.Code, body)
	}
	return string(body)
}

func grep(body, word string) string {
	var out []string
	for l := range strings.Lines(body) {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// gauges is the value of name's series by module.
func gauges(t *testing.T, reg *metrics.Registry, name string) map[string]float64 {
	t.Helper()
	families, err := reg.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "module" {
					out[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	return out
}

func platformSchema(t *testing.T, url, schema string) *database.DB {
	t.Helper()
	db, err := database.Open(t.Context(), url, schema, database.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := database.Migrate(t.Context(), db, database.PlatformMigrations(), database.PlatformTable); err != nil {
		t.Fatal(err)
	}
	return db
}

func addDatabase(t *testing.T, reg *metrics.Registry, module string, db *database.DB) {
	t.Helper()
	pool, err := db.DB.DB()
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.AddDatabase(module, pool); err != nil {
		t.Fatal(err)
	}
}

func exec(t *testing.T, db *database.DB, sql string) {
	t.Helper()
	if err := db.Exec(sql).Error; err != nil {
		t.Fatal(err)
	}
}

// A shadow's registry labels every series it serves with the shadow's name:
// its module label is the live module's, and the two must never be summed.
func TestAShadowsSeriesSayTheShadow(t *testing.T) {
	r := metrics.NewRegistry(slog.New(slog.DiscardHandler), "test-instance", "canary")
	families, err := r.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(families) == 0 {
		t.Fatal("a shadow's registry gathers nothing")
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			shadow := ""
			for _, l := range m.GetLabel() {
				if l.GetName() == "shadow" {
					shadow = l.GetValue()
				}
			}
			if shadow != "canary" {
				t.Fatalf("%s: a series without shadow=\"canary\": %v", f.GetName(), m.GetLabel())
			}
		}
	}
}

// With recording off, the hooks record nothing; on again, they do.
func TestSetRecording(t *testing.T) {
	t.Cleanup(func() { metrics.SetRecording(true) })
	count := func() float64 {
		return testutil.ToFloat64(metrics.GatewayCalls.WithLabelValues("rec-test", "g", "M", metrics.OutcomeOK))
	}
	before := count()
	metrics.SetRecording(false)
	metrics.ObserveCall("rec-test", "g", "M", metrics.OutcomeOK, time.Now())
	if got := count(); got != before {
		t.Fatalf("recording off: the call was counted (%v -> %v)", before, got)
	}
	metrics.SetRecording(true)
	metrics.ObserveCall("rec-test", "g", "M", metrics.OutcomeOK, time.Now())
	if got := count(); got != before+1 {
		t.Fatalf("recording on: %v -> %v, want one more", before, got)
	}
}
