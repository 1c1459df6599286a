package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uberservice/uberservice/internal/cluster"
)

// TestRollingUpgradeTopics upgrades im, instance by instance, from a build
// that reads accounts.funds_deposited.v1 to one that reads .v2, on NATS,
// while accounts (already upgraded) writes each deposit once, as v2, and its
// relay publishes it on both versions with one message id:
//
//  1. only the old im runs: it pays every deposit's commission from v1, and
//     the new im's durable consumer on v2 (made when it first ran) keeps the
//     same deposits for it;
//  2. the new im comes back beside the old one: both read, each its own
//     version, and the v2 copies of the first deposits reach the new one;
//  3. the old im stops: the new one pays what comes.
//
// Every deposit earns exactly one commission, each im applied some, and
// neither ever found a commission already recorded: the inbox, keyed by the
// topic's first version, told them the copies of one event were one.
func TestRollingUpgradeTopics(t *testing.T) {
	t.Parallel()
	old := buildOldIM(t)

	c := cluster.StartTB(t, cluster.Topology{Name: "upgrade", Bus: cluster.NATSURL(),
		Processes: cluster.Each("accounts", "portal", "im")}, config(""))
	r := referred(t, c, "UPG") // with the new im: portal asks it who manages
	must(t, c.Stop("im"))

	oldCfg := config(c.DatabaseURL(), "--peer", "accounts="+c.InternalURL("accounts"))
	oldCfg.Binary, oldCfg.Namespace = old, c.Namespace()
	oldIM := startOne(t, c.Bus(), []string{"im"}, oldCfg)

	const perPhase = 6
	want := map[string]int64{}
	balance := int64(0)
	deposits := func(n int) {
		for range n {
			amount := int64(1000 + 100*len(want))
			balance += amount
			tx := deposit(t, c.URL("accounts"), r.customer, r.account.ID, amount, balance)
			want[tx.ID] = amount * 150 / 10000
		}
	}
	total := func() (sum int64) {
		for _, v := range want {
			sum += v
		}
		return sum
	}

	t.Log("phase 1: only the old im, reading v1")
	deposits(perPhase)
	waitCommissions(t, oldIM.URL("im"), r.managerH, r.manager.ID, len(want))

	t.Log("phase 2: the new im, reading v2, beside the old one")
	_, err := c.Restart(context.Background(), "im")
	must(t, err)
	deposits(perPhase)
	waitCommissions(t, c.URL("im"), r.managerH, r.manager.ID, len(want))
	// The old im takes every v1 copy, whether it applies it or finds it
	// handled by the new one.
	pollEvery(t, eventually, 100*time.Millisecond, "the old im taking every v1 copy", func() bool {
		return handledTotal(t, oldIM.InternalURL("im"), "accounts.funds_deposited.v1") >= 2*perPhase
	})
	// Each says which version it reads, for the console to show.
	for _, s := range []struct {
		who, base, topic string
		want             float64
	}{
		{"old", oldIM.InternalURL("im"), "accounts.funds_deposited.v1", 1},
		{"old", oldIM.InternalURL("im"), "accounts.funds_deposited.v2", 0},
		{"new", c.InternalURL("im"), "accounts.funds_deposited.v2", 1},
		{"new", c.InternalURL("im"), "accounts.funds_deposited.v1", 0},
	} {
		if got := imMetric(t, s.base, "uberservice_consumer_subscribed", s.topic); got != s.want {
			t.Errorf("the %s im: uberservice_consumer_subscribed{topic=%q} %v, want %v", s.who, s.topic, got, s.want)
		}
	}
	must(t, oldIM.Stop("im"))

	t.Log("phase 3: only the new im")
	deposits(perPhase)
	cs := waitCommissions(t, c.URL("im"), r.managerH, r.manager.ID, len(want))
	expectCommissions(t, cs, r.account.ID, want, total())
	// The new im got the v2 copies of every deposit, the first phase's
	// included, which waited in its durable consumer.
	pollEvery(t, eventually, 100*time.Millisecond, "the new im taking every v2 copy", func() bool {
		return handledTotal(t, c.InternalURL("im"), "accounts.funds_deposited.v2") >= 3*perPhase
	})

	oldApplied, newApplied := applied(oldIM.Logs("im")), applied(c.Logs("im"))
	if oldApplied.commissions == 0 || newApplied.commissions == 0 || oldApplied.commissions+newApplied.commissions != len(want) {
		t.Errorf("commissions recorded: %d by the old im, %d by the new one; want both some, %d in all",
			oldApplied.commissions, newApplied.commissions, len(want))
	}
	if oldApplied.again+newApplied.again != 0 {
		t.Errorf("a commission was found already recorded %d times (old im) and %d (new im): the inbox took the copies of an event for two",
			oldApplied.again, newApplied.again)
	}
	if newApplied.skipped < perPhase {
		t.Errorf("the new im skipped %d messages as already handled, want at least the first phase's %d", newApplied.skipped, perPhase)
	}
	t.Logf("old im: %+v; new im: %+v", oldApplied, newApplied)
}

// buildOldIM builds the binary as it was before im moved to
// funds_deposited.v2: a copy of the source tree whose im declares and
// handles v1, converting it to the v2 it works with.
func buildOldIM(t *testing.T) string {
	t.Helper()
	root, err := cluster.RepoRoot()
	must(t, err)
	src := t.TempDir()
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(src, f), b, 0o644))
	}
	for _, dir := range []string{"cmd", "gateway", "migrations", "modules", "platform"} { // what ./cmd/uberservice imports
		must(t, os.CopyFS(filepath.Join(src, dir), os.DirFS(filepath.Join(root, dir))))
	}
	patch(t, filepath.Join(src, "modules/im/module.go"),
		"app.Topics(events.AccountCreated{}, events.FundsDepositedV2{})",
		"app.Topics(events.AccountCreated{}, events.FundsDeposited{})")
	patch(t, filepath.Join(src, "modules/im/events.go"),
		"func (s *service) onFundsDeposited(ctx context.Context, tx *gorm.DB, e events.FundsDepositedV2, contexts map[uuid.UUID]depositContext) error {",
		"func (s *service) onFundsDeposited(ctx context.Context, tx *gorm.DB, v1 events.FundsDeposited, contexts map[uuid.UUID]depositContext) error {\n\te := events.DepositV2(v1.Movement)")
	patch(t, filepath.Join(src, "modules/im/events.go"),
		"deposits []events.FundsDepositedV2)", "deposits []events.FundsDeposited)")
	bin, err := cluster.Build(context.Background(), t.TempDir(), cluster.BuildOptions{Root: src})
	must(t, err)
	return bin
}

// patch replaces old with new in the file at path, which must hold old once.
func patch(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	must(t, err)
	if n := strings.Count(string(b), old); n != 1 {
		t.Fatalf("patch %s: %q occurs %d times, want once", path, old, n)
	}
	must(t, os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644))
}

// handledTotal is uberservice_consumer_handled_total of im on topic, as the
// process at base serves it on /metrics.
func handledTotal(t *testing.T, base, topic string) float64 {
	t.Helper()
	return imMetric(t, base, "uberservice_consumer_handled_total", topic)
}

// imMetric is the sum of the series called name of im on topic, as the
// process at base serves them on /metrics.
func imMetric(t *testing.T, base, name, topic string) float64 {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	must(t, err)
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s/metrics: %s\n%s", base, res.Status, body)
	}
	var sum float64
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") ||
			!strings.Contains(line, `module="im"`) || !strings.Contains(line, fmt.Sprintf("topic=%q", topic)) {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		must(t, err)
		sum += v
	}
	must(t, sc.Err())
	return sum
}

// imWork is what an im process's log says it did with deposits.
type imWork struct {
	commissions int // commissions recorded
	again       int // deposits whose commission was recorded already
	skipped     int // messages found handled in the inbox
}

func applied(logs string) imWork {
	var w imWork
	for _, line := range logLines(logs) {
		switch msg, _ := line["msg"].(string); {
		case msg == "commission recorded":
			w.commissions++
		case msg == "commission on this deposit already recorded; skipped":
			w.again++
		case msg == "event already handled; skipped" && strings.HasPrefix(fmt.Sprint(line["handler"]), "im.accounts.funds_deposited"):
			w.skipped++
		}
	}
	return w
}
