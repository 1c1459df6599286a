package portal_test

import (
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/gateway/portal"
	accountsmodule "github.com/uberservice/uberservice/modules/accounts"
	immodule "github.com/uberservice/uberservice/modules/im"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/correlation"
)

func modules() []app.Module {
	return []app.Module{accountsmodule.Module(), immodule.Module(), portal.Module()}
}

func TestAccountView(t *testing.T) {
	t.Parallel()
	sys := apptest.Start(t, modules(), app.Config{})

	t.Run("shows the account and its manager", func(t *testing.T) {
		manager := createManager(t, sys, "ALICE2024")
		bob := customer(t, sys, "bob")
		account := createAccount(t, sys, bob, map[string]any{
			"owner_name": "Bob Buyer", "email": "bob@example.com", "referral_code": "ALICE2024",
		})

		// im links the account when it handles account_created, a moment later.
		var view map[string]any
		apptest.Eventually(t, 10*time.Second, "the account to be linked to its manager", func() bool {
			view = accountView(t, sys.URL("portal"), bob, account["id"])
			if d := degraded(t, view); len(d) != 0 {
				t.Fatalf("degraded %v with every module up: %v", d, view)
			}
			return view["manager"] != nil
		})

		sameAccount(t, view["account"], account)
		want := map[string]any{"id": manager["id"], "name": "Alice Adviser", "email": "alice@example.com"}
		if got, ok := view["manager"].(map[string]any); !ok || !sameMap(got, want) {
			t.Fatalf("manager %v, want exactly %v", view["manager"], want)
		}
	})

	t.Run("an unmanaged account has no manager and nothing degraded", func(t *testing.T) {
		carol := customer(t, sys, "carol")
		account := createAccount(t, sys, carol, map[string]any{"owner_name": "Carol Cash", "email": "carol@example.com"})
		view := accountView(t, sys.URL("portal"), carol, account["id"])
		sameAccount(t, view["account"], account)
		if m, ok := view["manager"]; !ok || m != nil {
			t.Fatalf("manager %v (present: %v), want null", m, ok)
		}
		if d := degraded(t, view); len(d) != 0 {
			t.Fatalf("degraded %v, want []", d)
		}
	})

	t.Run("an unknown account is 404", func(t *testing.T) {
		apptest.Do(t, http.MethodGet, sys.URL("portal")+"/v1/portal/accounts/"+uuid.NewString(), nil, customer(t, sys, "dora")...).
			ExpectProblem(t, http.StatusNotFound, "account_not_found")
	})

	t.Run("a malformed id is 404", func(t *testing.T) {
		apptest.Do(t, http.MethodGet, sys.URL("portal")+"/v1/portal/accounts/not-a-uuid", nil, customer(t, sys, "dora")...).
			ExpectProblem(t, http.StatusNotFound, "account_not_found")
	})
}

func TestAccountViewWhenIMIsDown(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{t: t}
	accountsSys, sys := startSplit(t, deadURL(t),
		slog.New(correlation.Handler(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))))
	dan := customer(t, accountsSys, "dan")
	account := createAccount(t, accountsSys, dan, map[string]any{"owner_name": "Dan Down", "email": "dan@example.com"})

	start := time.Now()
	r := apptest.Do(t, http.MethodGet, sys.URL("portal")+"/v1/portal/accounts/"+account["id"].(string), nil,
		slices.Concat(dan, []string{correlation.Header, "portal-im-down-1"})...)
	elapsed := time.Since(start)

	view := r.Expect(t, http.StatusOK).JSON(t)
	sameAccount(t, view["account"], account)
	if m, ok := view["manager"]; !ok || m != nil {
		t.Fatalf("manager %v (present: %v), want null", m, ok)
	}
	if d := degraded(t, view); len(d) != 1 || d[0] != "im" {
		t.Fatalf("degraded %v, want [im]", d)
	}
	if elapsed > 5*time.Second {
		t.Fatalf("the view took %s with im down; an unreachable im must not hold the page", elapsed)
	}
	if !logs.hasLine("level=WARN", "module=portal", "correlation_id=portal-im-down-1") {
		t.Fatalf("no warning with the request's correlation id in the log:\n%s", logs)
	}

	t.Run("an unknown account is still 404", func(t *testing.T) {
		apptest.Do(t, http.MethodGet, sys.URL("portal")+"/v1/portal/accounts/"+uuid.NewString(), nil, dan...).
			ExpectProblem(t, http.StatusNotFound, "account_not_found")
	})
}

func TestAccountViewWhenIMIsSlow(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		select { // far longer than the portal waits for im; let go when it hangs up
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
		http.Error(w, "too late", http.StatusGatewayTimeout)
	}))
	t.Cleanup(slow.Close)
	accountsSys, sys := startSplit(t, slow.URL, nil)
	sam := customer(t, accountsSys, "sam")
	account := createAccount(t, accountsSys, sam, map[string]any{"owner_name": "Sam Slow", "email": "sam@example.com"})

	start := time.Now()
	view := accountView(t, sys.URL("portal"), sam, account["id"])
	elapsed := time.Since(start)

	sameAccount(t, view["account"], account)
	if m, ok := view["manager"]; !ok || m != nil {
		t.Fatalf("manager %v (present: %v), want null", m, ok)
	}
	if d := degraded(t, view); len(d) != 1 || d[0] != "im" {
		t.Fatalf("degraded %v, want [im]", d)
	}
	if calls.Load() == 0 {
		t.Fatal("the portal never asked im")
	}
	if elapsed > 10*time.Second {
		t.Fatalf("the view took %s; a slow im must not hold the page", elapsed)
	}
}

func TestAccountViewWhenAccountsIsDown(t *testing.T) {
	t.Parallel()
	accountsURL := deadURL(t)
	sys := apptest.Start(t, modules(), app.Config{
		Modules: []string{"portal"},
		Peers:   map[string]string{"accounts": accountsURL, "im": deadURL(t)},
	})

	start := time.Now()
	r := apptest.Do(t, http.MethodGet, sys.URL("portal")+"/v1/portal/accounts/"+uuid.NewString(), nil, customer(t, sys, "una")...)
	elapsed := time.Since(start)

	r.ExpectProblem(t, http.StatusServiceUnavailable, "unavailable")
	if host := strings.TrimPrefix(accountsURL, "http://"); bytes.Contains(r.Body, []byte(host)) {
		t.Fatalf("the problem tells the client where accounts runs: %s", r.Body)
	}
	if elapsed > 10*time.Second {
		t.Fatalf("the 503 took %s", elapsed)
	}
}

// im is optional to the portal: started alone, with accounts as its only
// peer and im nowhere, the portal serves the account and says im is
// degraded; accounts, which it needs, answers 503 when it is down.
func TestPortalStartsWithoutIM(t *testing.T) {
	t.Parallel()
	accountsSys := apptest.Start(t, modules(), app.Config{Modules: []string{"accounts"}})
	sys := apptest.Start(t, modules(), app.Config{
		Modules: []string{"portal"},
		Peers:   map[string]string{"accounts": accountsSys.InternalURL("accounts")},
	})
	olga := customer(t, accountsSys, "olga")
	account := createAccount(t, accountsSys, olga, map[string]any{"owner_name": "Olga Optional", "email": "olga@example.com"})
	view := accountView(t, sys.URL("portal"), olga, account["id"])
	sameAccount(t, view["account"], account)
	if m, ok := view["manager"]; !ok || m != nil {
		t.Fatalf("manager %v (present: %v), want null", m, ok)
	}
	if d := degraded(t, view); len(d) != 1 || d[0] != "im" {
		t.Fatalf("degraded %v, want [im]", d)
	}

	alone := apptest.Start(t, modules(), app.Config{
		Modules: []string{"portal"},
		Peers:   map[string]string{"accounts": deadURL(t)},
	})
	apptest.Do(t, http.MethodGet, alone.URL("portal")+"/v1/portal/accounts/"+uuid.NewString(), nil, olga...).
		ExpectProblem(t, http.StatusServiceUnavailable, "unavailable")
}

// startSplit runs accounts in one system and the portal in another that reaches
// accounts and im (at imURL) over HTTP, as separate processes would. log, when
// not nil, is the portal's logger.
func startSplit(t *testing.T, imURL string, log *slog.Logger) (accountsSys, portalSys *apptest.System) {
	t.Helper()
	accountsSys = apptest.Start(t, modules(), app.Config{Modules: []string{"accounts"}})
	portalSys = apptest.Start(t, modules(), app.Config{
		Modules: []string{"portal"},
		Peers:   map[string]string{"accounts": accountsSys.InternalURL("accounts"), "im": imURL},
		Log:     log,
	})
	return accountsSys, portalSys
}

// degraded returns the view's degraded list, which must be an array, never null.
func degraded(t *testing.T, view map[string]any) []any {
	t.Helper()
	d, ok := view["degraded"].([]any)
	if !ok {
		t.Fatalf("degraded is %#v, want an array", view["degraded"])
	}
	return d
}

// sameAccount checks that the portal shows the account as accounts returned it.
func sameAccount(t *testing.T, got any, want map[string]any) {
	t.Helper()
	acc, ok := got.(map[string]any)
	if !ok {
		t.Fatalf("account is %#v, want an object", got)
	}
	for _, k := range []string{"id", "owner", "owner_name", "email", "currency", "balance", "status", "referral_code"} {
		if acc[k] != want[k] {
			t.Errorf("account %s = %#v, want %#v", k, acc[k], want[k])
		}
	}
	g, err1 := time.Parse(time.RFC3339Nano, str(acc["created_at"]))
	w, err2 := time.Parse(time.RFC3339Nano, str(want["created_at"]))
	if err1 != nil || err2 != nil || !g.Equal(w) {
		t.Errorf("account created_at = %v, want %v", acc["created_at"], want["created_at"])
	}
}

func str(v any) string { s, _ := v.(string); return s }

func sameMap(got, want map[string]any) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// deadURL returns the URL of a port that nothing listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return "http://" + addr
}

// logBuffer keeps what the modules log, and shows it in the test's log too.
type logBuffer struct {
	t  *testing.T
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// hasLine reports whether one logged line contains every part.
func (l *logBuffer) hasLine(parts ...string) bool {
	for line := range strings.Lines(l.String()) {
		found := true
		for _, p := range parts {
			found = found && strings.Contains(line, p)
		}
		if found {
			return true
		}
	}
	return false
}
