package metrics

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ScrapeTimeout bounds what a scrape waits for one module's database. It is
// short, under the 1s a scrape interval can be: a module whose database is
// slow loses its table gauges from that scrape, logged, rather than making
// the scrape time out and every other series with it.
const ScrapeTimeout = 500 * time.Millisecond

// The statuses the platform's tables keep (platform/database/schema): each
// is reported, 0 when no row has it, so that a series exists before its
// first row does and an alert on it has something to compare.
var (
	deadLetterStatuses = []string{"retrying", "dead"}
	mailStatuses       = []string{"pending", "sent", "recorded", "failed"}
)

// tables reads, at every scrape, the platform's tables in one module's
// schema: its outbox, its dead letters and its mail. The module is a
// constant label, so that each module with a database has a collector of
// its own and one's slow database holds up no other's.
type tables struct {
	module string
	db     *sql.DB
	log    *slog.Logger

	pending, oldest, deadLetters, mail *prometheus.Desc

	warned throttle
}

func newTables(module string, db *sql.DB, log *slog.Logger) *tables {
	l := prometheus.Labels{"module": module}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, l)
	}
	return &tables{
		module: module, db: db, log: log,
		pending:     desc("outbox_pending", "Events in the outbox not yet relayed to the bus."),
		oldest:      desc("outbox_oldest_age_seconds", "Age of the oldest event in the outbox; 0 when it is empty."),
		deadLetters: desc("dead_letters", "Failed messages, by status: retrying, or dead (waiting for an operator).", "status"),
		mail:        desc("mail_messages", "Emails in the module's notifications, by status.", "status"),
	}
}

func (t *tables) Describe(ch chan<- *prometheus.Desc) {
	ch <- t.pending
	ch <- t.oldest
	ch <- t.deadLetters
	ch <- t.mail
}

// tablesQuery reads all of it in one round trip.
const tablesQuery = `
SELECT 'outbox', '', count(*)::float8, coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 FROM outbox
UNION ALL SELECT 'dead_letters', status, count(*)::float8, 0 FROM dead_letters GROUP BY status
UNION ALL SELECT 'mail', status, count(*)::float8, 0 FROM notifications GROUP BY status`

func (t *tables) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), ScrapeTimeout)
	defer cancel()
	dead, mail := zeros(deadLetterStatuses), zeros(mailStatuses)
	var pending, oldest float64
	err := t.read(ctx, func(kind, status string, n, age float64) {
		switch kind {
		case "outbox":
			pending, oldest = n, age
		case "dead_letters":
			dead[status] = n
		case "mail":
			mail[status] = n
		}
	})
	if err != nil {
		t.warn(err)
		return
	}
	ch <- prometheus.MustNewConstMetric(t.pending, prometheus.GaugeValue, pending)
	ch <- prometheus.MustNewConstMetric(t.oldest, prometheus.GaugeValue, oldest)
	for status, n := range dead {
		ch <- prometheus.MustNewConstMetric(t.deadLetters, prometheus.GaugeValue, n, status)
	}
	for status, n := range mail {
		ch <- prometheus.MustNewConstMetric(t.mail, prometheus.GaugeValue, n, status)
	}
}

func (t *tables) read(ctx context.Context, row func(kind, status string, n, age float64)) error {
	rows, err := t.db.QueryContext(ctx, tablesQuery)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var kind, status string
		var n, age float64
		if err := rows.Scan(&kind, &status, &n, &age); err != nil {
			return err
		}
		row(kind, status, n, age)
	}
	return rows.Err()
}

// warn logs a failed read, once a minute at most: Prometheus scrapes every
// few seconds, and a database that is down says so elsewhere too.
func (t *tables) warn(err error) {
	if !t.warned.allow() {
		return
	}
	t.log.Warn("metrics: skipped the module's table gauges in a scrape", "module", t.module,
		"error", fmt.Errorf("read outbox, dead letters and mail: %w", err))
}

func zeros(keys []string) map[string]float64 {
	m := make(map[string]float64, len(keys))
	for _, k := range keys {
		m[k] = 0
	}
	return m
}

// throttle lets a failure of a scrape-time read be logged once a minute at
// most: Prometheus scrapes every few seconds, and a database that is down
// says so elsewhere too.
type throttle struct {
	mu   sync.Mutex
	last time.Time
}

func (t *throttle) allow() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if time.Since(t.last) < time.Minute {
		return false
	}
	t.last = time.Now()
	return true
}
