// Package procstat samples the memory and CPU of processes from /proc: the
// uberservice processes of a cluster, and the Postgres backends serving one
// database.
package procstat

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/uberservice/uberservice/internal/cluster"
)

// RSS is the resident set size of each of pids, in bytes.
func RSS(pids []int) ([]int64, error) {
	out := make([]int64, len(pids))
	for i, pid := range pids {
		v, err := cluster.RSS(pid)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// Sum adds up xs.
func Sum(xs []int64) int64 {
	var s int64
	for _, x := range xs {
		s += x
	}
	return s
}

// CPU is the CPU time pids have used so far, all together.
func CPU(pids []int) (time.Duration, error) {
	var total time.Duration
	for _, pid := range pids {
		d, err := cluster.CPUTime(pid)
		if err != nil {
			return 0, err
		}
		total += d
	}
	return total, nil
}

// RSSSampler reads the RSS of a set of processes at a fixed interval.
type RSSSampler struct {
	stop    context.CancelFunc
	done    chan struct{}
	mu      sync.Mutex
	samples [][]int64 // per sample, per process
	err     error
}

// SampleRSS starts sampling pids every interval until Stop.
func SampleRSS(pids []int, interval time.Duration) *RSSSampler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &RSSSampler{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			v, err := RSS(pids)
			s.mu.Lock()
			if err != nil {
				s.err = err
			} else {
				s.samples = append(s.samples, v)
			}
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// Stop ends the sampling and returns every sample: per sample, the RSS of
// each process.
func (s *RSSSampler) Stop() ([][]int64, error) {
	s.stop()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil && len(s.samples) == 0 {
		return nil, errors.New("procstat: no RSS sample")
	}
	return s.samples, s.err
}

// Backends are the process ids of the Postgres backends connected to the
// database db (a name), as the server at adminURL lists them. The server
// must run on this machine for their /proc entries to be theirs.
func Backends(ctx context.Context, adminURL, db string) ([]int, error) {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return nil, fmt.Errorf("procstat: list backends: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, db)
	if err != nil {
		return nil, fmt.Errorf("procstat: list backends: %w", err)
	}
	pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, fmt.Errorf("procstat: list backends: %w", err)
	}
	out := make([]int, len(pids))
	for i, p := range pids {
		out[i] = int(p)
	}
	return out, nil
}

// CPUMeter measures the CPU time a set of processes spend over a window:
// the uberservice processes, and optionally the Postgres backends of one
// database (whose set can change during the window: a backend that appears
// counts from its start, one that disappears counts until its last reading).
type CPUMeter struct {
	pids     []int
	adminURL string
	db       string
	start    time.Time
	own      map[int]time.Duration
	backends map[int]time.Duration
}

// CPUUse is what a CPUMeter measured.
type CPUUse struct {
	Wall     time.Duration `json:"wall_ns"`
	Service  time.Duration `json:"service_cpu_ns"`  // the uberservice processes
	Postgres time.Duration `json:"postgres_cpu_ns"` // the backends of the database
}

// ServiceCores is the service's CPU time over wall time: 0.01 is 1% of a core.
func (u CPUUse) ServiceCores() float64 { return u.Service.Seconds() / u.Wall.Seconds() }

// PostgresCores is the backends' CPU time over wall time.
func (u CPUUse) PostgresCores() float64 { return u.Postgres.Seconds() / u.Wall.Seconds() }

// StartCPU starts measuring pids and, when db is not empty, the Postgres
// backends of db.
func StartCPU(ctx context.Context, pids []int, adminURL, db string) (*CPUMeter, error) {
	m := &CPUMeter{pids: pids, adminURL: adminURL, db: db}
	var err error
	if m.backends, err = m.readBackends(ctx); err != nil {
		return nil, err
	}
	m.own = map[int]time.Duration{}
	for _, pid := range pids {
		if m.own[pid], err = cluster.CPUTime(pid); err != nil {
			return nil, err
		}
	}
	m.start = time.Now()
	return m, nil
}

func (m *CPUMeter) readBackends(ctx context.Context) (map[int]time.Duration, error) {
	out := map[int]time.Duration{}
	if m.db == "" {
		return out, nil
	}
	pids, err := Backends(ctx, m.adminURL, m.db)
	if err != nil {
		return nil, err
	}
	for _, pid := range pids {
		if d, err := cluster.CPUTime(pid); err == nil { // gone already: skip
			out[pid] = d
		}
	}
	return out, nil
}

// Stop ends the window.
func (m *CPUMeter) Stop(ctx context.Context) (CPUUse, error) {
	u := CPUUse{Wall: time.Since(m.start)}
	for _, pid := range m.pids {
		d, err := cluster.CPUTime(pid)
		if err != nil {
			return u, err
		}
		u.Service += d - m.own[pid]
	}
	end, err := m.readBackends(ctx)
	if err != nil {
		return u, err
	}
	for pid, d := range end {
		u.Postgres += d - m.backends[pid] // a new backend counts from 0
	}
	return u, nil
}

// Machine is the CPU time the whole machine has spent, over all cores since
// boot, busy (user, nice, system, irq, softirq), idle (idle, iowait), and
// stolen by the hypervisor for other guests (steal): the first line of
// /proc/stat.
func Machine() (busy, idle, steal time.Duration, err error) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, 0, err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, 0, 0, fmt.Errorf("procstat: unexpected /proc/stat line %q", line)
	}
	v := make([]int64, 8)
	for i := range v {
		if v[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
			return 0, 0, 0, fmt.Errorf("procstat: /proc/stat: %w", err)
		}
	}
	tick := time.Second / time.Duration(cluster.ClockTicks())
	// user nice system idle iowait irq softirq steal
	busy = time.Duration(v[0]+v[1]+v[2]+v[5]+v[6]) * tick
	idle = time.Duration(v[3]+v[4]) * tick
	steal = time.Duration(v[7]) * tick
	return busy, idle, steal, nil
}

// Steal measures the share of the machine's CPU time the hypervisor gave to
// other guests over a window: a noisy neighbour makes every number worse.
type Steal struct{ busy, idle, steal time.Duration }

// StartSteal starts a window.
func StartSteal() (Steal, error) {
	b, i, st, err := Machine()
	return Steal{b, i, st}, err
}

// Fraction is the share of all CPU time since the start that was stolen.
func (s Steal) Fraction() float64 {
	b, i, st, err := Machine()
	if err != nil {
		return 0
	}
	total := (b - s.busy) + (i - s.idle) + (st - s.steal)
	if total <= 0 {
		return 0
	}
	return float64(st-s.steal) / float64(total)
}

// Usage measures, over a window, the cores used by the machine as a whole,
// by this process (the load generator), and by a CPUMeter's processes.
type Usage struct {
	start         time.Time
	busy0, self0  time.Duration
	meter         *CPUMeter
	Wall          time.Duration `json:"wall_ns"`
	MachineBusy   time.Duration `json:"machine_busy_ns"`
	Self          time.Duration `json:"load_generator_cpu_ns"`
	Processes     CPUUse        `json:"processes"`
	MachineCores  float64       `json:"machine_cores"`        // busy time over wall time
	SelfCores     float64       `json:"load_generator_cores"` // this process
	ServiceCores  float64       `json:"service_cores"`
	PostgresCores float64       `json:"postgres_backend_cores"`
}

// StartUsage starts measuring; pids and db as for StartCPU (none: only the
// machine and this process).
func StartUsage(ctx context.Context, pids []int, adminURL, db string) (*Usage, error) {
	u := &Usage{}
	if len(pids) > 0 || db != "" {
		m, err := StartCPU(ctx, pids, adminURL, db)
		if err != nil {
			return nil, err
		}
		u.meter = m
	}
	var err error
	if u.busy0, _, _, err = Machine(); err != nil {
		return nil, err
	}
	if u.self0, err = cluster.CPUTime(os.Getpid()); err != nil {
		return nil, err
	}
	u.start = time.Now()
	return u, nil
}

// Restart starts the window again, now (only for a Usage with no processes).
func (u *Usage) Restart(ctx context.Context) error {
	if u.meter != nil {
		return errors.New("procstat: restart of a usage with processes")
	}
	fresh, err := StartUsage(ctx, nil, "", "")
	if err != nil {
		return err
	}
	*u = *fresh
	return nil
}

// Stop ends the window and fills in u.
func (u *Usage) Stop(ctx context.Context) error {
	u.Wall = time.Since(u.start)
	busy, _, _, err := Machine()
	if err != nil {
		return err
	}
	self, err := cluster.CPUTime(os.Getpid())
	if err != nil {
		return err
	}
	u.MachineBusy, u.Self = busy-u.busy0, self-u.self0
	if u.meter != nil {
		if u.Processes, err = u.meter.Stop(ctx); err != nil {
			return err
		}
	}
	w := u.Wall.Seconds()
	u.MachineCores, u.SelfCores = u.MachineBusy.Seconds()/w, u.Self.Seconds()/w
	u.ServiceCores, u.PostgresCores = u.Processes.Service.Seconds()/w, u.Processes.Postgres.Seconds()/w
	return nil
}

// Named are the ids of the running processes whose command name (the comm
// of /proc/<pid>/stat) is name: a server the bench did not start, such as a
// broker, found by what it runs.
func Named(name string) ([]int, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("procstat: list processes: %w", err)
	}
	var out []int
	for _, ent := range entries {
		pid, err := strconv.Atoi(ent.Name())
		if err != nil {
			continue
		}
		comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err == nil && strings.TrimSpace(string(comm)) == name {
			out = append(out, pid)
		}
	}
	return out, nil
}
