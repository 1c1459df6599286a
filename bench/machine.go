package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	amqp "github.com/rabbitmq/amqp091-go"
)

// machine is the header of the report: what ran, and on what.
type machine struct {
	Date       time.Time `json:"date"`
	Commit     string    `json:"commit"`
	Dirty      bool      `json:"dirty"` // the working tree had uncommitted changes
	GoVersion  string    `json:"go_version"`
	CPU        string    `json:"cpu"`
	Cores      int       `json:"cores"`
	RAMBytes   int64     `json:"ram_bytes"`
	Kernel     string    `json:"kernel"`
	Postgres   string    `json:"postgres"`
	PGSettings string    `json:"postgres_settings"`
	NATS       string    `json:"nats"`
	RabbitMQ   string    `json:"rabbitmq"`
	LoadBefore string    `json:"loadavg_before"`
	LoadAfter  string    `json:"loadavg_after"`
}

func describeMachine(ctx context.Context, admin, natsURL, amqpURL string) (machine, error) {
	m := machine{Date: time.Now().UTC(), Cores: runtime.NumCPU(), LoadBefore: loadavg()}
	m.Commit = strings.TrimSpace(output("git", "rev-parse", "--short", "HEAD"))
	m.Dirty = strings.TrimSpace(output("git", "status", "--porcelain")) != ""
	m.GoVersion = strings.TrimSpace(output("go", "version"))
	m.Kernel = strings.TrimSpace(output("uname", "-sr"))
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				f := strings.Fields(rest)
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					m.RAMBytes = kb * 1024
				}
			}
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(cctx, admin)
	if err != nil {
		return m, fmt.Errorf("Postgres at %s: %w", admin, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := conn.QueryRow(cctx, "SELECT version()").Scan(&m.Postgres); err != nil {
		return m, err
	}
	var settings []string
	for _, name := range []string{"shared_buffers", "max_connections", "synchronous_commit", "fsync", "track_commit_timestamp"} {
		var v string
		if err := conn.QueryRow(cctx, "SELECT current_setting($1)", name).Scan(&v); err != nil {
			return m, err
		}
		settings = append(settings, name+"="+v)
	}
	m.PGSettings = strings.Join(settings, ", ")
	nc, err := nats.Connect(natsURL, nats.Timeout(5*time.Second))
	if err != nil {
		return m, fmt.Errorf("NATS at %s: %w", natsURL, err)
	}
	m.NATS = "nats-server " + nc.ConnectedServerVersion()
	nc.Close()
	ac, err := amqp.DialConfig(amqpURL, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		return m, fmt.Errorf("RabbitMQ at %s: %w", amqpURL, err)
	}
	m.RabbitMQ = fmt.Sprintf("RabbitMQ %v", ac.Properties["version"])
	ac.Close()
	return m, nil
}

func output(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return string(out)
}

func loadavg() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// otherActivity is what else uses this machine's Postgres right now: the
// connections to databases other than the benchmarks' own, by database (the
// postgres database is left out: the bench itself uses it).
func otherActivity(ctx context.Context, admin string) (map[string]int, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT datname, count(*) FROM pg_stat_activity
		WHERE datname IS NOT NULL AND datname NOT LIKE 'uberservice_bench_%' AND datname <> 'postgres' AND pid <> pg_backend_pid()
		GROUP BY datname`)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for rows.Next() {
		var name string
		var n int
		if err := rows.Scan(&name, &n); err != nil {
			return nil, err
		}
		out[name] = n
	}
	return out, rows.Err()
}

// monitor watches, every 2s, for other work on the machine while a scenario
// runs: connections to other databases of the Postgres the benchmarks use
// (other test runs), and the load average. Other test runs on the machine
// make the numbers worse, and this is how the report tells.
type monitor struct {
	mu       sync.Mutex
	maxConns int
	dbs      map[string]bool
	maxLoad  float64
}

func startMonitor(ctx context.Context, admin string) *monitor {
	m := &monitor{dbs: map[string]bool{}}
	go func() {
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			others, err := otherActivity(ctx, admin)
			load := 0.0
			if f := strings.Fields(loadavg()); len(f) > 0 {
				load, _ = strconv.ParseFloat(f[0], 64)
			}
			m.mu.Lock()
			if err == nil {
				n := 0
				for db, c := range others {
					n += c
					m.dbs[db] = true
				}
				m.maxConns = max(m.maxConns, n)
			}
			m.maxLoad = max(m.maxLoad, load)
			m.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// take reports what the monitor saw since the last take, and starts over.
func (m *monitor) take() (others string, maxLoad float64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	others = "none"
	if m.maxConns > 0 {
		names := make([]string, 0, len(m.dbs))
		for db := range m.dbs {
			names = append(names, db)
		}
		slices.Sort(names)
		others = fmt.Sprintf("up to %d connections to %s", m.maxConns, strings.Join(names, ", "))
	}
	maxLoad = m.maxLoad
	m.maxConns, m.dbs, m.maxLoad = 0, map[string]bool{}, 0
	return others, maxLoad
}
