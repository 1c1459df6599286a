package e2e

import (
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// moneySuite: concurrent withdrawals never take a balance below zero, and
// concurrent requests with one Idempotency-Key have one effect. A customer,
// Connie, moves the money of her own account: some fifty requests, well
// within her rate limit.
func moneySuite(t *testing.T, p system) {
	acc := p.URL("accounts")
	connie := person(t, p, "connie", identity.Customer)
	var a account
	expectJSON(t, apptest.Do(t, http.MethodPost, acc+"/v1/accounts", map[string]any{
		"owner_name": "Connie Current", "email": "connie@example.com",
	}, connie...), http.StatusCreated, &a, accountKeys...)
	deposit(t, acc, connie, a.ID, 1000, 1000)
	withdrawals := acc + "/v1/accounts/" + a.ID + "/withdrawals"

	// 25 withdrawals of 100 from 1000: exactly 10 succeed.
	statuses := parallel(t, 25, withdrawals, `{"amount": 100}`, connie...)
	count := map[int]int{}
	for _, r := range statuses {
		count[r.Status]++
		if r.Status == http.StatusConflict {
			expectProblem(t, r, http.StatusConflict, "insufficient_funds")
		}
	}
	if count[http.StatusCreated] != 10 || count[http.StatusConflict] != 15 {
		t.Fatalf("25 concurrent withdrawals of 100 from 1000: statuses %v, want 10×201 and 15×409", count)
	}
	expectBalance(t, acc, connie, a.ID, 0)

	// 10 concurrent deposits with one key: one deposit, ten identical answers.
	replies := parallel(t, 10, acc+"/v1/accounts/"+a.ID+"/deposits", `{"amount": 77}`,
		append([]string{"Idempotency-Key", "dep-" + randomHex(6)}, connie...)...)
	var first transaction
	for i, r := range replies {
		var tx transaction
		expectJSON(t, r, http.StatusCreated, &tx, transactionKeys...)
		if i == 0 {
			first = tx
		} else if tx != first {
			t.Fatalf("concurrent replays answered %+v and %+v, want the same transaction", first, tx)
		}
	}
	expectBalance(t, acc, connie, a.ID, 77)

	// A withdrawal key is replayed like a deposit key; a key whose request
	// failed stays free.
	withKey := append([]string{"Idempotency-Key", "wd-" + randomHex(6)}, connie...)
	expectProblem(t, apptest.Do(t, http.MethodPost, withdrawals, map[string]any{"amount": 100}, withKey...),
		http.StatusConflict, "insufficient_funds")
	deposit(t, acc, connie, a.ID, 23, 100)
	var w1, w2 transaction
	expectJSON(t, apptest.Do(t, http.MethodPost, withdrawals, map[string]any{"amount": 100}, withKey...),
		http.StatusCreated, &w1, transactionKeys...)
	expectJSON(t, apptest.Do(t, http.MethodPost, withdrawals, map[string]any{"amount": 100}, withKey...),
		http.StatusCreated, &w2, transactionKeys...)
	if w1 != w2 || w1.Kind != "withdrawal" || w1.BalanceAfter != 0 {
		t.Fatalf("withdrawal %+v and its replay %+v, want one withdrawal to 0", w1, w2)
	}
	expectProblem(t, apptest.Do(t, http.MethodPost, withdrawals, map[string]any{"amount": 1}, withKey...),
		http.StatusUnprocessableEntity, "")
	expectBalance(t, acc, connie, a.ID, 0)

	var txs []transaction
	items(t, acc+"/v1/accounts/"+a.ID+"/transactions", &txs, connie...)
	var sum int64
	for _, tx := range txs {
		sum += signed(tx)
	}
	if len(txs) != 1+10+1+1+1 || sum != 0 {
		t.Fatalf("%d transactions summing to %d, want 14 summing to the balance 0: %s", len(txs), sum, describe(txs))
	}
}

// parallel sends n identical POSTs at once and returns the answers in order.
func parallel(t testing.TB, n int, url, body string, headers ...string) []apptest.Response {
	t.Helper()
	out := make([]apptest.Response, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, err := apptest.NewRequest(http.MethodPost, url, body, headers...)
			if err != nil {
				errs[i] = err
				return
			}
			out[i], errs[i] = apptest.Send(http.DefaultClient, req)
		}()
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return out
}
