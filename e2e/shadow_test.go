package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/uberservice/uberservice/internal/cluster"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/fitness"
	"github.com/uberservice/uberservice/platform/identity"
)

// TestShadowCompare runs, beside the live accounts, im and portal on NATS, a
// second build of the binary whose im rounds commissions up, as im's shadow
// "canary". Of six deposits, three earn a commission that is not a whole
// number of cents at 1.5%: there the two builds differ, and compare must say
// so, by transaction id, and nothing else; the live side pays what the live
// rules say and writes one email a deposit, and the shadow sends none.
// The console's shadows page, from each side's own effects, says the same.
// shadow remove then drops the shadow's schema and its consumer groups.
func TestShadowCompare(t *testing.T) {
	variant := buildVariant(t, "modules/im/events.go",
		"return q*int64(bps) + r*int64(bps)/bpsPerWhole",
		"return q*int64(bps) + (r*int64(bps)+bpsPerWhole-1)/bpsPerWhole // the canary rounds up")

	bus := cluster.NATSURL()
	live := cluster.StartTB(t, cluster.Topology{Name: "shadow-live", Bus: bus,
		Processes: [][]string{{"accounts", "portal"}, {"im"}}}, config(""))
	db, ns := live.DatabaseURL(), live.Namespace()
	acc := live.URL("accounts")

	staff := person(t, live, "sal-staff", identity.Staff)
	code := "SHADOW-" + randomHex(4)
	mgr, mgrH := newManager(t, live, staff, "max", map[string]any{
		"name": "Max Shadow", "email": "max." + randomHex(3) + "@im.example.com", "referral_code": code, "commission_bps": 150,
	})
	owner := person(t, live, "olga", identity.Customer)
	var a account
	expectJSON(t, apptest.Do(t, http.MethodPost, acc+"/v1/accounts", map[string]any{
		"owner_name": "Olga Owner", "email": "olga." + randomHex(3) + "@example.com", "referral_code": code,
	}, owner...), http.StatusCreated, &a, accountKeys...)
	waitManaged(t, live.URL("portal"), owner, a.ID, mgr.ID)

	// The shadow forks im's state (the manager, the link) and from then on
	// takes every event im takes. Its mail URL is an SMTP server nobody
	// runs: were it used, the emails would wait there, not be recorded.
	shadowCfg := config(db, "--shadow", "canary", "--peer", "accounts="+live.InternalURL("accounts"),
		"--mail-url", "smtp://127.0.0.1:1?from=shadow@example.com")
	shadowCfg.Binary, shadowCfg.Namespace = variant, ns
	shadow := cluster.StartTB(t, cluster.Topology{Name: "shadow-canary", Bus: bus, Processes: [][]string{{"im"}}}, shadowCfg)
	r := apptest.Do(t, http.MethodGet, shadow.URL("im")+"/v1/managers/"+mgr.ID, nil, mgrH...)
	if r.Status != http.StatusNotFound {
		t.Fatalf("the shadow's public API answered %d to a manager's read, want 404: it serves no public traffic", r.Status)
	}

	amounts := []int64{10000, 1001, 2000, 333, 400, 2550} // 1001, 333 and 2550 differ: 15.015, 4.995, 38.25
	differ := map[int64]bool{1001: true, 333: true, 2550: true}
	var want, wantDiffer []string
	balance := int64(0)
	floor := map[string]int64{}
	for _, amt := range amounts {
		balance += amt
		d := deposit(t, acc, owner, a.ID, amt, balance)
		want = append(want, d.ID)
		floor[d.ID] = amt * 150 / 10000
		if differ[amt] {
			wantDiffer = append(wantDiffer, d.ID)
		}
	}
	slices.Sort(wantDiffer)

	// The live side pays what the live rules say.
	cs := waitCommissions(t, live.URL("im"), mgrH, mgr.ID, len(amounts))
	for _, c := range cs.Items {
		if c.Amount != floor[c.TransactionID] {
			t.Fatalf("live commission on %s is %d, want %d (rounded down)", c.TransactionID, c.Amount, floor[c.TransactionID])
		}
	}
	conn := connect(t, db)
	count := func(q string) int {
		var n int
		if err := conn.QueryRow(context.Background(), q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	apptest.Eventually(t, eventually, "the shadow's commissions and recorded emails", func() bool {
		return count(`SELECT count(*) FROM im_canary.commissions`) == len(amounts) &&
			count(`SELECT count(*) FROM im_canary.notifications WHERE status = 'recorded'`) == len(amounts)
	})
	if n := count(`SELECT count(*) FROM im_canary.notifications WHERE status <> 'recorded'`); n != 0 {
		t.Fatalf("the shadow has %d emails it did not only record", n)
	}
	var mails []notification
	items(t, live.URL("im")+"/v1/managers/"+mgr.ID+"/notifications", &mails, mgrH...)
	if len(mails) != len(amounts) {
		t.Fatalf("the manager has %d emails, want one a deposit (%d): the live im's alone", len(mails), len(amounts))
	}

	// compare: exactly the three differ, by transaction id, on both effects.
	code2, out, _ := runToExit(t, time.Minute, "compare", "im", "--shadow", "canary", "--database-url", db, "--format", "json")
	if code2 != 0 {
		t.Fatalf("compare exited %d, want 0", code2)
	}
	var rep fitness.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("compare --format json: %v\n%s", err, out)
	}
	if len(rep.Effects) != 2 {
		t.Fatalf("compare reported %d effects, want commission and manager_email:\n%s", len(rep.Effects), out)
	}
	for _, e := range rep.Effects {
		if !slices.Equal(e.Differ, wantDiffer) || e.Agree != len(amounts)-len(wantDiffer) || len(e.LiveOnly)+len(e.ShadowOnly) != 0 {
			t.Fatalf("effect %s: agree %d, differ %v, live only %v, shadow only %v; want agree %d, differ %v, none one-sided\n%s",
				e.Name, e.Agree, e.Differ, e.LiveOnly, e.ShadowOnly, len(amounts)-len(wantDiffer), wantDiffer, out)
		}
	}
	if code, _, _ := runToExit(t, time.Minute, "compare", "im", "--database-url", db); code != 2 {
		t.Fatalf("compare with no --shadow exited %d, want 2", code)
	}
	if code, text, _ := runToExit(t, time.Minute, "compare", "im", "--shadow", "canary", "--database-url", db); code != 0 || !strings.Contains(text, wantDiffer[0]) {
		t.Fatalf("compare (text) exited %d, want 0 and the differences by transaction id:\n%s", code, text)
	}

	// The console's shadows page tells the same from each side's own
	// /ops/effects: a console of its own, told where every module and the
	// shadow run, asked with the operator's token.
	peers := []string{"--shadow-peer", "im/canary=" + shadow.InternalURL("im")}
	for _, m := range []string{"accounts", "im", "portal"} {
		peers = append(peers, "--peer", m+"="+live.InternalURL(m))
	}
	console := cluster.StartTB(t, cluster.Topology{Name: "shadow-console", Bus: "gochannel", Processes: [][]string{{"console"}}}, config(db, peers...))
	operator, err := live.Operator()
	must(t, err)
	page := string(apptest.Do(t, http.MethodGet, console.URL("console")+"/shadows?since=1h", nil, operator...).Expect(t, http.StatusOK).Body)
	for _, e := range rep.Effects {
		row := fmt.Sprintf(`<tr data-effect="%s"><td class="name">%s</td><td class="agree">%d</td><td class="differ">%d</td><td class="live-only">0</td><td class="shadow-only">0</td></tr>`,
			e.Name, e.Name, e.Agree, len(e.Differ))
		if !strings.Contains(page, row) {
			t.Fatalf("the console's shadows page lacks what compare said of %s (%s):\n%s", e.Name, row, page)
		}
	}
	for _, id := range wantDiffer {
		if !strings.Contains(page, "<code>"+id+"</code>") {
			t.Fatalf("the console's shadows page does not show the difference on %s:\n%s", id, page)
		}
	}

	// shadow remove, once the shadow is stopped: no schema, no consumer group.
	must(t, shadow.Stop("im"))
	if code, out, _ := runToExit(t, time.Minute, "shadow", "remove", "im", "--shadow", "canary",
		"--database-url", db, "--bus", bus, "--bus-namespace", ns); code != 0 {
		t.Fatalf("shadow remove exited %d, want 0\n%s", code, out)
	}
	if n := count(`SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'im_canary'`); n != 0 {
		t.Fatal("schema im_canary is still there after shadow remove")
	}
	js := jetStream(t, bus)
	// The topics im consumes, as the binary declares them: the shadow's
	// consumers were made on exactly those streams.
	im, _ := catalogue.Module("im")
	for _, topic := range im.Consumes {
		stream := strings.ReplaceAll(ns+"."+topic, ".", "_")
		if _, err := js.ConsumerInfo(stream, ns+"_im_canary"); !errors.Is(err, nats.ErrConsumerNotFound) {
			t.Fatalf("the shadow's consumer on %s after shadow remove: %v, want not found", stream, err)
		}
		if _, err := js.ConsumerInfo(stream, ns+"_im"); err != nil {
			t.Fatalf("the live im's consumer on %s after shadow remove: %v", stream, err)
		}
	}
	var rows int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM im.commissions`).Scan(&rows); err != nil || rows != len(amounts) {
		t.Fatalf("live commissions after shadow remove: %d (%v), want %d", rows, err, len(amounts))
	}
}

// buildVariant builds the binary from a copy of the source tree in which
// file's old is replaced by new: another version of the product, with no
// branch for the test in the product's code.
func buildVariant(t *testing.T, file, old, new string) string {
	t.Helper()
	root, err := cluster.RepoRoot()
	must(t, err)
	src := t.TempDir()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			if d.Name() == ".git" || d.Name() == "node_modules" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(src, rel), 0o755)
		}
		if !d.Type().IsRegular() || d.Name() == ".git" || (rel == "uberservice") {
			return nil
		}
		return copyFile(path, filepath.Join(src, rel))
	})
	must(t, err)
	path := filepath.Join(src, file)
	b, err := os.ReadFile(path)
	must(t, err)
	if strings.Count(string(b), old) != 1 {
		t.Fatalf("%s has %d of %q, want 1: update the test's patch", file, strings.Count(string(b), old), old)
	}
	must(t, os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin, err := cluster.Build(ctx, t.TempDir(), cluster.BuildOptions{Root: src})
	must(t, err)
	return bin
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
