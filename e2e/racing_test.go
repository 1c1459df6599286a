package e2e

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// accountsGet is the route of accounts' Get, the call the portal hedges.
var accountsGet = regexp.MustCompile(`^/gateway/accounts/v1/accounts/[^/]+$`)

// TestRacingSkipsAStuckEndpoint runs the portal against accounts at two
// endpoints of equal weight: the real one, and a proxy in front of it that
// holds every Get until its caller gives up, and passes everything else
// (the readiness probe) through, so that it stays in the round robin. Round
// robin sends about half the first attempts to the stuck one; Get is hedged,
// so each of those goes to the real accounts too after the hedge's delay,
// which answers, and the stuck request is cancelled. Every portal read is
// then a 200 with the account, not the 503 of an accounts that did not
// answer in time: what it takes is that the hedge raced past the stuck
// endpoint, which the proxy sees as every held request cancelled.
//
// The portal's only call of accounts is Get, hedged; it makes no call that
// is not safe to send twice (no Debit or Credit), so there is no unhedged
// call here to see reach one endpoint only.
func TestRacingSkipsAStuckEndpoint(t *testing.T) {
	t.Parallel()
	db := apptest.FreshDatabase(t)
	core := startOnNATS(t, db)
	acc := core.URL("accounts")

	target, err := url.Parse(core.InternalURL("accounts"))
	must(t, err)
	pass := httputil.NewSingleHostReverseProxy(target)
	var held, cancelled, passed atomic.Int32
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet || !accountsGet.MatchString(r.URL.Path) {
			passed.Add(1)
			pass.ServeHTTP(w, r)
			return
		}
		held.Add(1)
		<-r.Context().Done()
		cancelled.Add(1)
	}))
	t.Cleanup(stuck.Close)

	accounts := "accounts=" + stuck.URL + ";weight=1;version=stuck," + core.InternalURL("accounts") + ";weight=1;version=1"
	racing := startOne(t, "gochannel", []string{"portal"}, config(db, "--peer", accounts, "--peer", "im="+core.InternalURL("im")))
	portal := racing.URL("portal")

	rita := person(t, core, "rita-racing", identity.Customer)
	var a account
	expectJSON(t, apptest.Do(t, http.MethodPost, acc+"/v1/accounts", map[string]any{
		"owner_name": "Rita", "email": "rita@example.com",
	}, rita...), http.StatusCreated, &a, accountKeys...)
	deposit(t, acc, rita, a.ID, 300, 300)

	const n = 20
	for i := range n {
		var v portalView
		expectJSON(t, apptest.Do(t, http.MethodGet, portal+"/v1/portal/accounts/"+a.ID, nil, rita...), http.StatusOK, &v,
			"account", "manager", "degraded")
		if v.Account.ID != a.ID || v.Account.Balance != 300 || len(v.Degraded) != 0 {
			t.Fatalf("read %d through the racing portal: %s", i, describe(v))
		}
	}

	// The loser's cancel may reach the proxy a moment after the winner's
	// answer reached the portal's caller.
	pollEvery(t, 5*time.Second, 50*time.Millisecond, "every held Get cancelled", func() bool {
		return cancelled.Load() == held.Load()
	})
	switch h := held.Load(); {
	case h == 0:
		t.Fatalf("the stuck endpoint held no Get in %d reads: it was not in the round robin (%d other requests passed)", n, passed.Load())
	case h > n:
		t.Fatalf("the stuck endpoint held %d Gets in %d reads: a call went to it more than once", h, n)
	}
	t.Logf("%d reads: the stuck endpoint held %d Gets, each cancelled; %d other requests passed through", n, held.Load(), passed.Load())

	if ok := gatewayCalls(t, racing.InternalURL("portal")+"/metrics", "portal", "accounts", "Get", "ok"); ok < n {
		t.Errorf(`uberservice_gateway_calls_total{gateway="accounts",method="Get",outcome="ok"} = %v, want at least %d`, ok, n)
	}
}

// gatewayCalls reads uberservice_gateway_calls_total of module's calls of
// gateway's method that ended with outcome from url; 0 when there is none.
func gatewayCalls(t *testing.T, url, module, gateway, method, outcome string) float64 {
	t.Helper()
	body := apptest.Do(t, http.MethodGet, url, nil).Expect(t, http.StatusOK).Body
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "uberservice_gateway_calls_total{") {
			continue
		}
		labels := []string{`module="` + module + `"`, `gateway="` + gateway + `"`, `method="` + method + `"`, `outcome="` + outcome + `"`}
		match := true
		for _, l := range labels {
			match = match && strings.Contains(line, l)
		}
		if !match {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &v); err != nil {
			t.Fatalf("%s: %q: %v", url, line, err)
		}
		return v
	}
	return 0
}
