// Package pgbench runs PostgreSQL's pgbench with a custom script and reads
// back its throughput and, from its per-transaction log, its latencies.
package pgbench

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/uberservice/uberservice/bench/internal/stats"
)

// Options are one pgbench run.
type Options struct {
	Binary      string // default "pgbench"
	DatabaseURL string
	Script      string // the custom script (-f)
	Clients     int    // -c
	Threads     int    // -j; default min(Clients, 2)
	Duration    time.Duration
	Vars        map[string]string // -D NAME=VALUE
	// SearchPath is set with PGOPTIONS, so that the script names tables as
	// the module's code does, without a schema.
	SearchPath string
	// LogDir receives the per-transaction logs; it is emptied afterwards.
	LogDir string
}

// Result is what one run measured.
type Result struct {
	Command      string        `json:"command"`
	TPS          float64       `json:"tps"` // pgbench's, without initial connection time
	Transactions int           `json:"transactions"`
	Failed       int           `json:"failed"`
	Mean         time.Duration `json:"mean_ns"`
	P50          time.Duration `json:"p50_ns"`
	P99          time.Duration `json:"p99_ns"`
	Max          time.Duration `json:"max_ns"`
	// ClientCPU is the CPU time of pgbench itself (user and system).
	ClientCPU time.Duration `json:"client_cpu_ns"`
}

var (
	tpsRE    = regexp.MustCompile(`(?m)^tps = ([0-9.]+) \(without initial connection time\)`)
	txRE     = regexp.MustCompile(`(?m)^number of transactions actually processed: (\d+)`)
	failedRE = regexp.MustCompile(`(?m)^number of failed transactions: (\d+)`)
)

// Command is the command line of a run, for humans to paste (the database
// URL as given).
func (o Options) Command() string {
	o = o.withDefaults()
	var b strings.Builder
	if o.SearchPath != "" {
		fmt.Fprintf(&b, "PGOPTIONS='-c search_path=%s' ", o.SearchPath)
	}
	b.WriteString(o.Binary)
	for _, a := range o.args(false) {
		b.WriteString(" ")
		b.WriteString(shellQuote(a))
	}
	return b.String()
}

func (o Options) withDefaults() Options {
	if o.Binary == "" {
		o.Binary = "pgbench"
	}
	if o.Threads <= 0 {
		o.Threads = min(o.Clients, 2)
	}
	return o
}

func (o Options) args(withLog bool) []string {
	secs := max(int(o.Duration.Round(time.Second)/time.Second), 1)
	args := []string{"-n", "-M", "prepared", "-T", strconv.Itoa(secs),
		"-c", strconv.Itoa(o.Clients), "-j", strconv.Itoa(o.Threads)}
	names := make([]string, 0, len(o.Vars))
	for k := range o.Vars {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		args = append(args, "-D", k+"="+o.Vars[k])
	}
	if withLog {
		args = append(args, "-l", "--log-prefix="+filepath.Join(o.LogDir, "pgbench"))
	}
	return append(args, "-f", o.Script, o.DatabaseURL)
}

// Run runs pgbench once.
func Run(ctx context.Context, o Options) (Result, error) {
	o = o.withDefaults()
	if o.LogDir == "" {
		return Result{}, fmt.Errorf("pgbench: no log folder")
	}
	if err := os.MkdirAll(o.LogDir, 0o755); err != nil {
		return Result{}, err
	}
	defer clean(o.LogDir)
	res := Result{Command: o.Command()}
	cmd := exec.CommandContext(ctx, o.Binary, o.args(true)...)
	cmd.Env = os.Environ()
	if o.SearchPath != "" {
		cmd.Env = append(cmd.Env, "PGOPTIONS=-c search_path="+o.SearchPath)
	}
	out, err := cmd.CombinedOutput()
	if cmd.ProcessState != nil {
		res.ClientCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return res, fmt.Errorf("pgbench: %s: %w\n%s", res.Command, err, out)
	}
	text := string(out)
	m := tpsRE.FindStringSubmatch(text)
	if m == nil {
		return res, fmt.Errorf("pgbench: no tps in the output of %s:\n%s", res.Command, text)
	}
	res.TPS, _ = strconv.ParseFloat(m[1], 64)
	if m := txRE.FindStringSubmatch(text); m != nil {
		res.Transactions, _ = strconv.Atoi(m[1])
	}
	if m := failedRE.FindStringSubmatch(text); m != nil {
		res.Failed, _ = strconv.Atoi(m[1])
	}
	lat, failed, err := readLogs(o.LogDir)
	if err != nil {
		return res, err
	}
	res.Failed = max(res.Failed, failed)
	if len(lat) == 0 {
		return res, fmt.Errorf("pgbench: %s logged no transaction:\n%s", res.Command, text)
	}
	var sum float64
	for _, l := range lat {
		sum += l
	}
	us := func(v float64) time.Duration { return time.Duration(v * float64(time.Microsecond)) }
	res.Mean = us(sum / float64(len(lat)))
	res.P50 = us(stats.Percentile(lat, 50))
	res.P99 = us(stats.Percentile(lat, 99))
	res.Max = us(stats.Max(lat))
	if res.Failed > 0 {
		return res, fmt.Errorf("pgbench: %d transactions failed in %s:\n%s", res.Failed, res.Command, text)
	}
	return res, nil
}

// readLogs reads the latencies, in microseconds, of pgbench's
// per-transaction logs: "client_id transaction_no time script_no
// time_epoch time_us ...", time being the latency or "failed".
func readLogs(dir string) (lat []float64, failed int, err error) {
	files, err := filepath.Glob(filepath.Join(dir, "pgbench.*"))
	if err != nil {
		return nil, 0, err
	}
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, 0, err
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 3 {
				continue
			}
			v, err := strconv.ParseFloat(fields[2], 64)
			if err != nil {
				failed++
				continue
			}
			lat = append(lat, v)
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, 0, err
		}
	}
	return lat, failed, nil
}

func clean(dir string) {
	files, _ := filepath.Glob(filepath.Join(dir, "pgbench.*"))
	for _, f := range files {
		_ = os.Remove(f)
	}
}

var safe = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./-]+$`)

func shellQuote(s string) string {
	if safe.MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
