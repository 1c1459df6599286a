package e2e

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// TestPortalAcrossProcesses runs the portal in processes of its own that reach
// accounts and im over HTTP through --peer: with both peers up it composes the
// account and its manager; with im unreachable it still answers 200, degraded;
// with accounts unreachable it answers 503.
func TestPortalAcrossProcesses(t *testing.T) {
	t.Parallel()
	db := apptest.FreshDatabase(t)
	core := startSystem(t, db)
	acc := core.URL("accounts")
	dead := fmt.Sprintf("http://127.0.0.1:%d", freePorts(t, 1)[0]) // nobody listens there

	accPeer, imPeer := core.InternalURL("accounts"), core.InternalURL("im") // peers name the internal API
	up := startPortal(t, db, "accounts="+accPeer, "im="+imPeer)
	noIM := startPortal(t, db, "accounts="+accPeer, "im="+dead)
	noAccounts := startPortal(t, db, "accounts="+dead, "im="+imPeer)

	staff := person(t, core, "pia-staff", identity.Staff)
	paul := person(t, core, "paul", identity.Customer)
	code := "PEER-" + randomHex(4)
	mgr, _ := newManager(t, core, staff, "petra", map[string]any{
		"name": "Petra", "email": "petra@im.example.com", "referral_code": code, "commission_bps": 50,
	})
	var a account
	expectJSON(t, apptest.Do(t, http.MethodPost, acc+"/v1/accounts", map[string]any{
		"owner_name": "Paul", "email": "paul@example.com", "referral_code": code,
	}, paul...), http.StatusCreated, &a, accountKeys...)
	deposit(t, acc, paul, a.ID, 4200, 4200)

	// The portals verify the people's tokens as the core does, and ask the
	// core on Paul's behalf.
	v := waitManaged(t, up, paul, a.ID, mgr.ID)
	if v.Account.Balance != 4200 || v.Account.OwnerName != "Paul" || v.Manager.Name != "Petra" {
		t.Fatalf("portal across processes: %s, want Paul at 4200 managed by Petra", describe(v))
	}
	expectProblem(t, apptest.Do(t, http.MethodGet, up+"/v1/portal/accounts/"+newUUID(), nil, paul...), http.StatusNotFound, "")

	var degraded portalView
	m := expectJSON(t, apptest.Do(t, http.MethodGet, noIM+"/v1/portal/accounts/"+a.ID, nil, paul...), http.StatusOK, &degraded,
		"account", "manager", "degraded")
	if m["manager"] != nil || len(degraded.Degraded) != 1 || degraded.Degraded[0] != "im" || degraded.Account.ID != a.ID || degraded.Account.Balance != 4200 {
		t.Fatalf("portal with im unreachable: %s, want the account, manager null, degraded [im]", describe(m))
	}

	expectProblem(t, apptest.Do(t, http.MethodGet, noAccounts+"/v1/portal/accounts/"+a.ID, nil, paul...), http.StatusServiceUnavailable, "")
}

// startPortal runs the portal alone with peers (MODULE=URL) and returns its
// base URL once it is ready. The portal keeps nothing in a database; it is
// given db, the one of the modules it calls, as every process is given one.
func startPortal(t testing.TB, db string, peers ...string) string {
	t.Helper()
	var args []string
	for _, p := range peers {
		args = append(args, "--peer", p)
	}
	return startOne(t, "gochannel", []string{"portal"}, config(db, args...)).URL("portal")
}
