package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// TestCanaryPeers runs the portal against accounts at three endpoints: the
// real one (weight 80), an "ostrich" that answers every call 200 with a body
// that is not the contract, and one where nobody listens. Every request to
// the portal still succeeds, the ostrich's breaker opens (the portal's metrics
// say so, per endpoint), the dead endpoint fails its readiness probe, and a portal with the ostrich as its only
// accounts answers 502 bad_gateway: never a 500, never a half-filled account.
func TestCanaryPeers(t *testing.T) {
	t.Parallel()
	db := apptest.FreshDatabase(t)
	core := startOnNATS(t, db)
	acc := core.URL("accounts")

	var ostrichCalls atomic.Int32
	ostrich := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/gateway/") {
			ostrichCalls.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"unexpected": true}`))
	}))
	t.Cleanup(ostrich.Close)
	dead := fmt.Sprintf("http://127.0.0.1:%d", freePorts(t, 1)[0])

	accounts := "accounts=" + core.InternalURL("accounts") + ";weight=80," + ostrich.URL + ";weight=10;version=2," + dead + ";weight=10"
	canary := startOne(t, "gochannel", []string{"portal"}, config(db, "--peer", accounts, "--peer", "im="+core.InternalURL("im")))
	ostrichOnly := startPortal(t, db, "accounts="+ostrich.URL, "im="+core.InternalURL("im"))

	staff := person(t, core, "cara-staff", identity.Staff)
	paul := person(t, core, "paulo", identity.Customer)
	code := "CANARY-" + randomHex(4)
	mgr, _ := newManager(t, core, staff, "carla", map[string]any{
		"name": "Carla", "email": "carla@im.example.com", "referral_code": code, "commission_bps": 50,
	})
	var a account
	expectJSON(t, apptest.Do(t, http.MethodPost, acc+"/v1/accounts", map[string]any{
		"owner_name": "Paulo", "email": "paulo@example.com", "referral_code": code,
	}, paul...), http.StatusCreated, &a, accountKeys...)
	deposit(t, acc, paul, a.ID, 700, 700)

	portal := canary.URL("portal")
	waitManaged(t, portal, paul, a.ID, mgr.ID)
	for i := range 60 {
		var v portalView
		expectJSON(t, apptest.Do(t, http.MethodGet, portal+"/v1/portal/accounts/"+a.ID, nil, paul...), http.StatusOK, &v,
			"account", "manager", "degraded")
		if v.Account.ID != a.ID || v.Account.Balance != 700 || len(v.Degraded) != 0 {
			t.Fatalf("request %d through the canary portal: %s", i, describe(v))
		}
	}
	if ostrichCalls.Load() == 0 {
		t.Fatal("the ostrich got no call: weights not honoured")
	}

	// The ostrich passes the readiness probe: its breaker ejects it. Nobody
	// answers the dead endpoint's probe: it gets no calls, so its breaker
	// need not open, but may have before the first probe.
	states := breakerStates(t, canary.InternalURL("portal")+"/metrics", "portal", "accounts")
	if _, ok := states[strings.TrimPrefix(dead, "http://")]; !ok {
		t.Errorf("no breaker reported for the dead endpoint: %v", states)
	}
	for endpoint, want := range map[string]float64{
		strings.TrimPrefix(core.InternalURL("accounts"), "http://"): 0,
		strings.TrimPrefix(ostrich.URL, "http://"):                  2,
	} {
		if got, ok := states[endpoint]; !ok || got != want {
			t.Errorf("breaker of accounts at %s: %v (reported: %v), want %v", endpoint, got, ok, want)
		}
	}

	expectProblem(t, apptest.Do(t, http.MethodGet, ostrichOnly+"/v1/portal/accounts/"+a.ID, nil, paul...), http.StatusBadGateway, "bad_gateway")
}

// breakerStates reads uberservice_gateway_breaker_state of module's calls to
// gateway from url, by endpoint.
func breakerStates(t *testing.T, url, module, gateway string) map[string]float64 {
	t.Helper()
	body := apptest.Do(t, http.MethodGet, url, nil).Expect(t, http.StatusOK).Body
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "uberservice_gateway_breaker_state{") ||
			!strings.Contains(line, `module="`+module+`"`) || !strings.Contains(line, `gateway="`+gateway+`"`) {
			continue
		}
		_, rest, _ := strings.Cut(line, `endpoint="`)
		endpoint, _, _ := strings.Cut(rest, `"`)
		var v float64
		_, _ = fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v)
		out[endpoint] = v
	}
	return out
}
