package e2e

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/uberservice/uberservice/gateway/accounts/events"
	"github.com/uberservice/uberservice/internal/cluster"
	"github.com/uberservice/uberservice/platform/messaging"
)

// chromium is the browser TestConsoleBrowser drives: Debian's package.
const chromium = "/usr/bin/chromium"

// TestConsoleBrowser drives the console in a real browser against the split
// topology on NATS, every module in a process of its own: an operator logs
// in by pasting a token and sees every module ready; im cannot reach
// accounts for a deposit, so the deposit's event ends a dead letter, which
// the console lists; accounts comes back, the operator clicks Replay, and
// the dead letter is gone. Its screenshots go to the artifacts folder.
func TestConsoleBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("TestConsoleBrowser needs Chromium at %s (apt-get install chromium): %v", chromium, err)
	}
	c := cluster.StartTB(t, cluster.OnePerModule("console-split", cluster.NATSURL(), catalogue), config(""))
	header, err := c.Operator()
	must(t, err)
	token := strings.TrimPrefix(header[1], "Bearer ")
	shots := artifactsDir(t)

	alloc, cancel := chromedp.NewExecAllocator(t.Context(),
		chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck, chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1440, 1100))
	defer cancel()
	browser, cancel := chromedp.NewContext(alloc, chromedp.WithErrorf(t.Logf))
	defer cancel()
	// The first step starts the browser, with no deadline of its own (one
	// would stop the browser); every later step has one.
	if err := chromedp.Do(browser, chromedp.Navigate(c.URL("console")+"/")); err != nil {
		t.Fatalf("open the console in %s: %v", chromium, err)
	}
	within := func(d time.Duration) context.Context {
		ctx, cancel := context.WithTimeout(browser, d)
		t.Cleanup(cancel)
		return ctx
	}
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(within(60*time.Second), steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(within(30*time.Second), chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		path := filepath.Join(shots, name)
		must(t, os.WriteFile(path, png, 0o644))
		t.Logf("screenshot: %s", path)
	}

	run("open the login form", chromedp.WaitVisible(chromedp.CSS("#token")))
	run("paste the token", chromedp.SetValue(chromedp.CSS("#token"), token))
	shot("console-login.png")
	run("log in", chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#live")))
	for _, m := range catalogue.Names() {
		run(m+" shows ready", chromedp.WaitVisible(chromedp.CSS(`#modules tr[data-module="`+m+`"].ready`)))
	}

	// im cannot ask accounts for the referral code of an account it has not
	// heard of: the deposit's event fails, is retried, and ends dead.
	must(t, c.Stop("accounts"))
	run("accounts shows down", chromedp.WaitVisible(chromedp.CSS(`#modules tr[data-module="accounts"].down`)))
	publishDeposit(t, c)
	row := `tr.dead-letter[data-module="im"]`
	run("the dead letter shows", chromedp.WaitVisible(chromedp.CSS(row)))
	waitText(t, browser, row+" td:nth-child(4)", "dead", 60*time.Second)
	shot("console-dead-letter-accounts-down.png")

	_, err = c.Restart(t.Context(), "accounts")
	must(t, err)
	run("accounts shows ready again", chromedp.WaitVisible(chromedp.CSS(`#modules tr[data-module="accounts"].ready`)))
	// im's breaker to accounts lets a call through 5s after it opened.
	time.Sleep(6 * time.Second)
	run("refresh", chromedp.WaitVisible(chromedp.CSS(row)))
	shot("console-dashboard.png")

	// Replay; a replay that meets im's breaker still open fails and says
	// so, and the operator clicks again.
	for attempt := 1; ; attempt++ {
		run("click Replay", chromedp.Click(chromedp.CSS(row+" button.replay")))
		var gone bool
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !gone; {
			time.Sleep(250 * time.Millisecond)
			gone, err = chromedp.Run(within(10*time.Second), chromedp.Evaluate[bool](`document.querySelector('`+row+`') === null`))
			must(t, err)
		}
		if gone {
			break
		}
		outcome, _ := chromedp.Run(within(10*time.Second), chromedp.Evaluate[string](`(document.querySelector('`+row+` .outcome') || {}).textContent || ""`))
		if attempt == 3 {
			t.Fatalf("the dead letter is still there after %d replays: %s\n%s", attempt, outcome, c.Logs("im"))
		}
		t.Logf("replay %d did not take: %s", attempt, outcome)
		time.Sleep(3 * time.Second)
	}
	run("no dead letters", chromedp.WaitVisible(chromedp.CSS("#no-dead-letters")))
	shot("console-after-replay.png")
}

// publishDeposit publishes, as accounts would, a deposit into an account
// im has never heard of, onto the cluster's bus.
func publishDeposit(t *testing.T, c *cluster.Cluster) {
	t.Helper()
	bus, err := messaging.Open(t.Context(), c.Bus(), messaging.Options{Namespace: c.Namespace(), Log: slog.New(slog.DiscardHandler)})
	must(t, err)
	defer bus.Close()
	e := events.DepositV2(events.Movement{
		TransactionID: uuid.New(), AccountID: uuid.New(), Amount: 1000, Currency: "EUR", BalanceAfter: 1000, OccurredAt: time.Now().UTC(),
	})
	payload, err := json.Marshal(e)
	must(t, err)
	msg := message.NewMessage(uuid.NewString(), payload)
	msg.Metadata.Set(messaging.MetaOccurredAt, time.Now().UTC().Format(time.RFC3339Nano))
	msg.Metadata.Set("correlation_id", "console-e2e-"+randomHex(4))
	must(t, bus.Publisher().Publish(e.Topic(), msg))
}

// waitText waits until the element sel holds want, as the page refreshes.
func waitText(t *testing.T, browser context.Context, sel, want string, timeout time.Duration) {
	t.Helper()
	got := ""
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(500 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(browser, 10*time.Second)
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('`+sel+`') || {}).textContent || ""`))
		cancel()
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		if got = strings.TrimSpace(text); got == want {
			return
		}
	}
	t.Fatalf("%s says %q after %s, want %q", sel, got, timeout, want)
}

// artifactsDir is where the tests leave what a person looks at afterwards:
// $UBERSERVICE_TEST_ARTIFACTS, or e2e/artifacts.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("UBERSERVICE_TEST_ARTIFACTS")
	if dir == "" {
		dir = "artifacts"
	}
	dir, err := filepath.Abs(dir)
	must(t, err)
	must(t, os.MkdirAll(dir, 0o755))
	return dir
}
