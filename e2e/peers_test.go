package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/apptest"
)

// TestPortalAcrossProcesses runs the portal in processes of its own that reach
// accounts and im over HTTP through --peer: with both peers up it composes the
// account and its manager; with im unreachable it still answers 200, degraded;
// with accounts unreachable it answers 503.
func TestPortalAcrossProcesses(t *testing.T) {
	t.Parallel()
	core := startSystem(t, apptest.FreshDatabase(t))
	acc, im := core.url("accounts"), core.url("im")
	dead := fmt.Sprintf("http://127.0.0.1:%d", freePorts(t, 1)[0]) // nobody listens there

	up := startPortal(t, "accounts="+acc, "im="+im)
	noIM := startPortal(t, "accounts="+acc, "im="+dead)
	noAccounts := startPortal(t, "accounts="+dead, "im="+im)

	code := "PEER-" + randomHex(4)
	var mgr manager
	expectJSON(t, apptest.Do(t, http.MethodPost, im+"/v1/managers", map[string]any{
		"name": "Petra", "email": "petra@im.example.com", "referral_code": code, "commission_bps": 50,
	}), http.StatusCreated, &mgr, managerKeys...)
	var a account
	expectJSON(t, apptest.Do(t, http.MethodPost, acc+"/v1/accounts", map[string]any{
		"owner_name": "Paul", "email": "paul@example.com", "referral_code": code,
	}), http.StatusCreated, &a, accountKeys...)
	deposit(t, acc, a.ID, 4200, 4200)

	v := waitManaged(t, up, a.ID, mgr.ID)
	if v.Account.Balance != 4200 || v.Account.OwnerName != "Paul" || v.Manager.Name != "Petra" {
		t.Fatalf("portal across processes: %s, want Paul at 4200 managed by Petra", describe(v))
	}
	expectProblem(t, apptest.Do(t, http.MethodGet, up+"/v1/portal/accounts/"+newUUID(), nil), http.StatusNotFound, "")

	var degraded portalView
	m := expectJSON(t, apptest.Do(t, http.MethodGet, noIM+"/v1/portal/accounts/"+a.ID, nil), http.StatusOK, &degraded,
		"account", "manager", "degraded")
	if m["manager"] != nil || len(degraded.Degraded) != 1 || degraded.Degraded[0] != "im" || degraded.Account.ID != a.ID || degraded.Account.Balance != 4200 {
		t.Fatalf("portal with im unreachable: %s, want the account, manager null, degraded [im]", describe(m))
	}

	expectProblem(t, apptest.Do(t, http.MethodGet, noAccounts+"/v1/portal/accounts/"+a.ID, nil), http.StatusServiceUnavailable, "")
}

// startPortal runs the portal alone with peers (MODULE=URL) and returns its
// base URL once it is ready.
func startPortal(t testing.TB, peers ...string) string {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		addr := fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1)[0])
		args := []string{"run", "--modules", "portal", "--listen", "portal=" + addr, "--log-format", "json"}
		for _, p := range peers {
			args = append(args, "--peer", p)
		}
		p := launch(t, args...)
		p.addrs = map[string]string{"portal": addr}
		if lastErr = p.waitReady(30 * time.Second); lastErr == nil {
			return p.url("portal")
		}
		if !p.exited() {
			break
		}
	}
	t.Fatalf("portal did not become ready: %v", lastErr)
	return ""
}
