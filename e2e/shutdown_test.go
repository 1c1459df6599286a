package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// TestGracefulShutdown: SIGTERM while deposits are in flight stops the process
// with exit 0, every deposit answered 201 is kept and none other is; after a
// restart on the same database SIGINT stops it cleanly too. The deposits are
// three customers', each into their own account from four workers at once,
// so that the load stays within each one's rate limit however fast the
// machine.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()
	db := apptest.FreshDatabase(t)
	p := startSystem(t, db)
	acc := p.URL("accounts")

	const customers, workersEach = 3, 4
	type depositor struct {
		as      []string
		account account
		before  int          // emails to the owner before the load
		created atomic.Int64 // deposits answered 201
	}
	ds := make([]*depositor, customers)
	for i := range ds {
		d := &depositor{as: person(t, p, fmt.Sprintf("sid-%d", i), identity.Customer)}
		expectJSON(t, apptest.Do(t, http.MethodPost, acc+"/v1/accounts", map[string]any{
			"owner_name": fmt.Sprintf("Sid Shutdown %d", i), "email": fmt.Sprintf("sid.%d@example.com", i),
		}, d.as...), http.StatusCreated, &d.account, accountKeys...)
		var before []notification
		items(t, acc+"/v1/accounts/"+d.account.ID+"/notifications", &before, d.as...)
		d.before = len(before)
		ds[i] = d
	}

	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: customers * workersEach}}
	var (
		created   atomic.Int64 // deposits answered 201
		afterSig  atomic.Int64 // of which answered after SIGTERM was sent
		signalled atomic.Bool
		mu        sync.Mutex
		bad       []string // answers other than 201
		wg        sync.WaitGroup
	)
	body := `{"amount": 1}`
	for _, d := range ds {
		for range workersEach {
			wg.Go(func() {
				for i := 0; i < 5000; i++ {
					req, err := http.NewRequest(http.MethodPost, acc+"/v1/accounts/"+d.account.ID+"/deposits", strings.NewReader(body))
					if err != nil {
						mu.Lock()
						bad = append(bad, err.Error())
						mu.Unlock()
						return
					}
					req.Header.Set("Content-Type", "application/json")
					req.Header.Set(d.as[0], d.as[1])
					resp, err := client.Do(req)
					if err != nil {
						if !signalled.Load() {
							mu.Lock()
							bad = append(bad, "transport error before SIGTERM: "+err.Error())
							mu.Unlock()
						}
						return // the server is gone: that is how a client sees a stop
					}
					answer, readErr := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusCreated || readErr != nil {
						mu.Lock()
						bad = append(bad, fmt.Sprintf("%d %s (read: %v)", resp.StatusCode, answer, readErr))
						mu.Unlock()
						return
					}
					d.created.Add(1)
					created.Add(1)
					if signalled.Load() {
						afterSig.Add(1)
					}
				}
			})
		}
	}
	apptest.Eventually(t, 20*time.Second, "40 deposits under load", func() bool { return created.Load() >= 40 })
	signalled.Store(true)
	code, ok := p.Process("accounts").Signal(syscall.SIGTERM, 25*time.Second)
	wg.Wait()
	if !ok {
		t.Fatalf("no exit within 25s of SIGTERM with requests in flight")
	}
	if code != 0 {
		t.Fatalf("exit code %d after SIGTERM with requests in flight, want 0", code)
	}
	if len(bad) > 0 {
		t.Fatalf("%d deposits did not get 201 while the process ran or stopped: %v", len(bad), bad[:min(len(bad), 5)])
	}
	t.Logf("%d deposits answered 201, %d of them after SIGTERM was sent", created.Load(), afterSig.Load())

	// Restart on the same database without migrating: each ledger holds
	// exactly the deposits that were answered.
	q := startSystem(t, db, "--no-migrate")
	acc = q.URL("accounts")
	for _, d := range ds {
		n := d.created.Load()
		expectBalance(t, acc, d.as, d.account.ID, n)
		var txs []transaction
		items(t, acc+"/v1/accounts/"+d.account.ID+"/transactions", &txs, d.as...)
		if int64(len(txs)) != n {
			t.Fatalf("%d transactions of account %s after the restart, want the %d deposits answered 201", len(txs), d.account.ID, n)
		}
		// Every answered deposit has its confirmation email, sent before or after the restart.
		waitSent(t, acc+"/v1/accounts/"+d.account.ID+"/notifications", d.as, d.before+int(n))
	}

	code, ok = q.Process("accounts").Signal(syscall.SIGINT, 25*time.Second)
	if !ok || code != 0 {
		t.Fatalf("after SIGINT: exited=%v code %d, want exit 0 within 25s", ok, code)
	}
}
