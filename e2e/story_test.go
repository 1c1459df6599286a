package e2e

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

const eventually = 15 * time.Second

// storySuite follows the accounts/IM story through HTTP only, on a running
// system (see TestTopologies), as the people it is about: staff make a
// manager, Ada; a customer, Olivia, signs up with Ada's referral code,
// deposits and withdraws; Ada reads her commissions, her emails and her
// summary; staff link a second customer's account to Ada by hand, and Ada
// unlinks it. Every effect of an event is polled for: across processes
// events arrive later than the answer that caused them.
func storySuite(t *testing.T, p system) {
	acc, im, portal := p.URL("accounts"), p.URL("im"), p.URL("portal")
	staff := person(t, p, "sam-staff", identity.Staff)

	for _, m := range moduleNames {
		for _, path := range []string{"/healthz", "/readyz"} {
			apptest.Do(t, http.MethodGet, p.URL(m)+path, nil).Expect(t, http.StatusOK)
		}
	}

	// A manager with a referral code and 1.5% commission, made by staff.
	code := "ADA-" + randomHex(4)
	mgrEmail := "ada." + randomHex(3) + "@im.example.com"
	mgr, ada := newManager(t, p, staff, "ada", map[string]any{
		"name": "Ada Lovelace", "email": mgrEmail, "referral_code": code, "commission_bps": 150,
	})
	expectUUID(t, "manager id", mgr.ID)
	expectTime(t, "manager created_at", mgr.CreatedAt)
	if mgr.Name != "Ada Lovelace" || mgr.Email != mgrEmail || mgr.ReferralCode != code || mgr.CommissionBps != 150 {
		t.Fatalf("created manager %+v does not match the request", mgr)
	}
	var got manager
	expectJSON(t, apptest.Do(t, http.MethodGet, im+"/v1/managers/"+mgr.ID, nil, ada...), http.StatusOK, &got, managerKeys...)
	if got != mgr {
		t.Fatalf("GET manager = %+v, want %+v", got, mgr)
	}
	expectProblem(t, apptest.Do(t, http.MethodPost, im+"/v1/managers", map[string]any{
		"subject": unique("copy-cat"), "name": "Copy Cat", "email": "copy@im.example.com", "referral_code": code, "commission_bps": 100,
	}, staff...), http.StatusConflict, "")
	expectFieldError(t, expectProblem(t, apptest.Do(t, http.MethodPost, im+"/v1/managers", map[string]any{
		"subject": unique("greedy"), "name": "Greedy", "email": "greedy@im.example.com", "referral_code": "GREEDY-" + randomHex(4),
		"commission_bps": 10001,
	}, staff...), http.StatusUnprocessableEntity, ""), "commission_bps")
	expectProblem(t, apptest.Do(t, http.MethodGet, im+"/v1/managers/"+newUUID(), nil, ada...), http.StatusNotFound, "")

	// A customer signs up with the manager's referral code.
	olivia := person(t, p, "olivia", identity.Customer)
	owner := "olivia." + randomHex(3) + "@example.com"
	var a account
	expectJSON(t, apptest.Do(t, http.MethodPost, acc+"/v1/accounts", map[string]any{
		"owner_name": "Olivia Owner", "email": owner, "referral_code": code,
	}, olivia...), http.StatusCreated, &a, accountKeys...)
	expectUUID(t, "account id", a.ID)
	expectTime(t, "account created_at", a.CreatedAt)
	if a.OwnerName != "Olivia Owner" || a.Email != owner || a.Currency != "USD" || a.Balance != 0 ||
		a.Status != "active" || a.ReferralCode != code {
		t.Fatalf("created account %+v does not match the request (want USD, balance 0, active)", a)
	}
	var gotAcc account
	expectJSON(t, apptest.Do(t, http.MethodGet, acc+"/v1/accounts/"+a.ID, nil, olivia...), http.StatusOK, &gotAcc, accountKeys...)
	if gotAcc != a {
		t.Fatalf("GET account = %+v, want %+v", gotAcc, a)
	}
	expectProblem(t, apptest.Do(t, http.MethodGet, acc+"/v1/accounts/"+newUUID(), nil, olivia...), http.StatusNotFound, "")
	expectFieldError(t, expectProblem(t, apptest.Do(t, http.MethodPost, acc+"/v1/accounts", map[string]any{
		"owner_name": "No Mail", "email": "not-an-email",
	}, olivia...), http.StatusUnprocessableEntity, ""), "email")
	var welcome []notification
	items(t, acc+"/v1/accounts/"+a.ID+"/notifications", &welcome, olivia...)
	ownerMails := len(welcome) // emails to the owner so far (a welcome email, say)

	// im reacts to account_created: the account becomes managed.
	view := waitManaged(t, portal, olivia, a.ID, mgr.ID)
	if view.Account.ID != a.ID || view.Account.OwnerName != "Olivia Owner" || view.Manager.Name != "Ada Lovelace" || view.Manager.Email != mgrEmail {
		t.Fatalf("portal view %s does not match the account and its manager", describe(view))
	}
	var mgrMails []notification
	items(t, im+"/v1/managers/"+mgr.ID+"/notifications", &mgrMails, ada...)
	managerMails := len(mgrMails) // emails to the manager so far (a new client, say)
	expectProblem(t, apptest.Do(t, http.MethodGet, portal+"/v1/portal/accounts/"+newUUID(), nil, olivia...), http.StatusNotFound, "")

	// An unknown referral code is ignored: handled once, no manager, no dead letter.
	uma := person(t, p, "uma", identity.Customer)
	stranger := newUUID()
	var u account
	expectJSON(t, apptest.Do(t, http.MethodPost, acc+"/v1/accounts", map[string]any{
		"owner_name": "Uma Unknown", "email": "uma@example.com", "referral_code": "NOBODY-" + randomHex(4),
	}, append([]string{"X-Request-Id", stranger}, uma...)...), http.StatusCreated, &u, accountKeys...)
	handled := waitHandled(t, p, "account_created", stranger)
	if handled["level"] != "INFO" || handled["error"] != nil {
		t.Fatalf("im failed on an unknown referral code instead of ignoring it: %s", describe(handled))
	}
	if v := portalOf(t, portal, uma, u.ID); v.Manager != nil {
		t.Fatalf("an unknown referral code gave the account manager %s", describe(v.Manager))
	}
	var dead []map[string]any
	items(t, p.InternalURL("im")+"/ops/dead-letters", &dead, operator(t, p)...)
	if len(dead) != 0 {
		t.Fatalf("im has dead letters or retries after an unknown referral code: %s", describe(dead))
	}

	// Deposits: one plain, one with an Idempotency-Key replayed once, one more.
	deposits := acc + "/v1/accounts/" + a.ID + "/deposits"
	d1 := deposit(t, acc, olivia, a.ID, 10000, 10000)
	key := "dep-" + randomHex(8)
	d2 := deposit(t, acc, olivia, a.ID, 2550, 12550, "Idempotency-Key", key)
	var replay transaction
	expectJSON(t, apptest.Do(t, http.MethodPost, deposits, map[string]any{"amount": 2550},
		append([]string{"Idempotency-Key", key}, olivia...)...), http.StatusCreated, &replay, transactionKeys...)
	if replay != d2 {
		t.Fatalf("replayed deposit = %+v, want the first response %+v", replay, d2)
	}
	expectProblem(t, apptest.Do(t, http.MethodPost, deposits, map[string]any{"amount": 2551},
		append([]string{"Idempotency-Key", key}, olivia...)...), http.StatusUnprocessableEntity, "")
	expectBalance(t, acc, olivia, a.ID, 12550)
	expectFieldError(t, expectProblem(t, apptest.Do(t, http.MethodPost, deposits,
		map[string]any{"amount": 0}, olivia...), http.StatusUnprocessableEntity, ""), "amount")
	expectProblem(t, apptest.Do(t, http.MethodPost, deposits, `{"amount": "ten"}`, olivia...),
		http.StatusBadRequest, "")
	expectProblem(t, apptest.Do(t, http.MethodPost, deposits, `{"amount": 1`, olivia...),
		http.StatusBadRequest, "")
	expectProblem(t, apptest.Do(t, http.MethodPost, deposits,
		`{"amount": 1, "note": "`+strings.Repeat("x", 70<<10)+`"}`, olivia...), http.StatusRequestEntityTooLarge, "")
	d3 := deposit(t, acc, olivia, a.ID, 333, 12883)
	expectBalance(t, acc, olivia, a.ID, 12883)

	// One commission per deposit, floor(amount * 150 / 10000), whatever the replays.
	wantCommission := map[string]int64{d1.ID: 150, d2.ID: 38, d3.ID: 4}
	cs := waitCommissions(t, im, ada, mgr.ID, 3)
	expectCommissions(t, cs, a.ID, wantCommission, 192)

	// Both emails: one per deposit to the owner, and a separate one to the manager.
	owned := waitSent(t, acc+"/v1/accounts/"+a.ID+"/notifications", olivia, ownerMails+3)
	for _, n := range owned {
		if n.To != owner {
			t.Fatalf("an email on the owner's account went to %q, want only %q (the manager's is separate): %s", n.To, owner, describe(owned))
		}
	}
	managed := waitSent(t, im+"/v1/managers/"+mgr.ID+"/notifications", ada, managerMails+3)
	for _, n := range managed {
		if n.To != mgrEmail {
			t.Fatalf("an email on the manager went to %q, want %q: %s", n.To, mgrEmail, describe(managed))
		}
	}

	// Withdrawals: one that fits, one that does not.
	var w transaction
	expectJSON(t, apptest.Do(t, http.MethodPost, acc+"/v1/accounts/"+a.ID+"/withdrawals", map[string]any{"amount": 1000}, olivia...),
		http.StatusCreated, &w, transactionKeys...)
	expectUUID(t, "withdrawal id", w.ID)
	if w.Kind != "withdrawal" || w.AccountID != a.ID || abs(w.Amount) != 1000 || w.BalanceAfter != 11883 {
		t.Fatalf("withdrawal = %+v, want kind withdrawal, amount 1000, balance_after 11883", w)
	}
	expectProblem(t, apptest.Do(t, http.MethodPost, acc+"/v1/accounts/"+a.ID+"/withdrawals", map[string]any{"amount": 11884}, olivia...),
		http.StatusConflict, "insufficient_funds")
	expectBalance(t, acc, olivia, a.ID, 11883)

	// The ledger, newest first, adds up to the balance.
	var txs []transaction
	items(t, acc+"/v1/accounts/"+a.ID+"/transactions", &txs, olivia...)
	var ids []string
	for _, tx := range txs {
		ids = append(ids, tx.ID)
	}
	if want := []string{w.ID, d3.ID, d2.ID, d1.ID}; !slices.Equal(ids, want) {
		t.Fatalf("transactions %v, want newest first %v: %s", ids, want, describe(txs))
	}
	var sum int64
	for i, tx := range txs {
		sum += signed(tx)
		if i+1 < len(txs) {
			if expectTime(t, "created_at", tx.CreatedAt).Before(expectTime(t, "created_at", txs[i+1].CreatedAt)) {
				t.Fatalf("transactions are not newest first: %s", describe(txs))
			}
			if tx.BalanceAfter != txs[i+1].BalanceAfter+signed(tx) {
				t.Fatalf("balance_after does not follow from the previous transaction: %s", describe(txs))
			}
		}
	}
	if sum != 11883 || txs[0].BalanceAfter != 11883 {
		t.Fatalf("transactions sum to %d (latest balance_after %d), want the balance 11883", sum, txs[0].BalanceAfter)
	}

	// The summary: the account at its current balance, the commission total.
	s := getSummary(t, im, ada, mgr.ID)
	if s.Manager.ID != mgr.ID || s.CommissionTotal != 192 || len(s.Accounts) != 1 ||
		s.Accounts[0].AccountID != a.ID || s.Accounts[0].OwnerName != "Olivia Owner" ||
		s.Accounts[0].Balance != 11883 || s.Accounts[0].Currency != "USD" {
		t.Fatalf("summary %s, want manager %s, account %s at 11883 USD, commission_total 192", describe(s), mgr.ID, a.ID)
	}

	// A second customer's account, without a referral code, is linked by
	// staff.
	bruno := person(t, p, "bruno", identity.Customer)
	var b account
	expectJSON(t, apptest.Do(t, http.MethodPost, acc+"/v1/accounts", map[string]any{
		"owner_name": "Bruno Buyer", "email": "bruno." + randomHex(3) + "@example.com",
	}, bruno...), http.StatusCreated, &b, accountKeys...)
	if v := portalOf(t, portal, bruno, b.ID); v.Manager != nil {
		t.Fatalf("an account without a referral code has manager %s", describe(v.Manager))
	}
	link := expectJSON(t, apptest.Do(t, http.MethodPost, im+"/v1/managers/"+mgr.ID+"/accounts", map[string]any{"account_id": b.ID}, staff...),
		http.StatusCreated, nil)
	if id, ok := link["account_id"]; ok && id != b.ID {
		t.Fatalf("link names account %v, want %s", id, b.ID)
	}
	if v := portalOf(t, portal, bruno, b.ID); v.Manager == nil || v.Manager.ID != mgr.ID {
		t.Fatalf("after linking, the portal shows manager %s, want %s", describe(v.Manager), mgr.ID)
	}
	expectProblem(t, apptest.Do(t, http.MethodPost, im+"/v1/managers/"+mgr.ID+"/accounts", map[string]any{"account_id": newUUID()}, staff...),
		http.StatusUnprocessableEntity, "")
	rival, _ := newManager(t, p, staff, "rival", map[string]any{
		"name": "Rival", "email": "rival@im.example.com", "referral_code": "RIVAL-" + randomHex(4), "commission_bps": 0,
	})
	expectProblem(t, apptest.Do(t, http.MethodPost, im+"/v1/managers/"+rival.ID+"/accounts", map[string]any{"account_id": b.ID}, staff...),
		http.StatusConflict, "")

	// A deposit into the linked account earns commission too.
	e1 := deposit(t, acc, bruno, b.ID, 1000, 1000)
	wantCommission[e1.ID] = 15
	cs = waitCommissions(t, im, ada, mgr.ID, 4)
	byAccount := map[string][]commission{}
	for _, c := range cs.Items {
		byAccount[c.AccountID] = append(byAccount[c.AccountID], c)
	}
	expectCommissions(t, commissions{Items: byAccount[a.ID], Total: 192}, a.ID, map[string]int64{d1.ID: 150, d2.ID: 38, d3.ID: 4}, 192)
	if len(byAccount[b.ID]) != 1 || byAccount[b.ID][0].TransactionID != e1.ID || byAccount[b.ID][0].Amount != 15 || cs.Total != 207 {
		t.Fatalf("commissions %s, want one of 15 for deposit %s into the linked account and total 207", describe(cs), e1.ID)
	}
	s = getSummary(t, im, ada, mgr.ID)
	balances := map[string]int64{}
	for _, sa := range s.Accounts {
		balances[sa.AccountID] = sa.Balance
	}
	if len(s.Accounts) != 2 || balances[a.ID] != 11883 || balances[b.ID] != 1000 || s.CommissionTotal != 207 {
		t.Fatalf("summary %s, want %s at 11883 and %s at 1000, commission_total 207", describe(s), a.ID, b.ID)
	}

	// The manager unlinks the account from herself, which frees it.
	r := apptest.Do(t, http.MethodDelete, im+"/v1/managers/"+mgr.ID+"/accounts/"+b.ID, nil, ada...).Expect(t, http.StatusNoContent)
	if len(r.Body) != 0 {
		t.Fatalf("204 with a body: %s", r.Body)
	}
	if v := portalOf(t, portal, bruno, b.ID); v.Manager != nil {
		t.Fatalf("after unlinking, the portal still shows manager %s", describe(v.Manager))
	}
	s = getSummary(t, im, ada, mgr.ID)
	if len(s.Accounts) != 1 || s.Accounts[0].AccountID != a.ID {
		t.Fatalf("summary after unlinking %s, want only %s", describe(s), a.ID)
	}
	expectJSON(t, apptest.Do(t, http.MethodPost, im+"/v1/managers/"+rival.ID+"/accounts", map[string]any{"account_id": b.ID}, staff...),
		http.StatusCreated, nil)
	if v := portalOf(t, portal, bruno, b.ID); v.Manager == nil || v.Manager.ID != rival.ID {
		t.Fatalf("after staff link the freed account to the rival, the portal shows %s, want %s", describe(v.Manager), rival.ID)
	}

	// No redelivery ever adds a commission or an email.
	cs = waitCommissions(t, im, ada, mgr.ID, 4)
	if len(cs.Items) != 4 || cs.Total != 207 {
		t.Fatalf("commissions at the end %s, want the same 4 and total 207", describe(cs))
	}
	var ns []notification
	items(t, im+"/v1/managers/"+mgr.ID+"/notifications", &ns, ada...)
	if len(ns) < managerMails+4 {
		t.Fatalf("manager emails %s, want one per deposit into a managed account (%d)", describe(ns), managerMails+4)
	}
}

// newManager has staff make a manager of fields (name, email,
// referral_code, commission_bps) for a new person named name, and returns
// it with that person's Authorization header, as a manager: the record is
// theirs.
func newManager(t testing.TB, sys system, staff []string, name string, fields map[string]any) (manager, []string) {
	t.Helper()
	subject := unique(name)
	body := map[string]any{"subject": subject}
	for k, v := range fields {
		body[k] = v
	}
	var m manager
	expectJSON(t, apptest.Do(t, http.MethodPost, sys.URL("im")+"/v1/managers", body, staff...), http.StatusCreated, &m, managerKeys...)
	if m.Subject != subject {
		t.Fatalf("the manager created for %q names the person %q", subject, m.Subject)
	}
	return m, personAs(t, sys, subject, identity.Manager)
}

// referral is a customer's account that im links to the manager who
// referred it: what the metrics and traces suites load their system with.
type referral struct {
	manager  manager
	managerH []string // the manager's Authorization header
	customer []string // the customer's
	account  account
}

// referred makes, as staff, a manager with a fresh referral code and 1.5%
// commission, opens a customer's account with that code and waits until im
// links the two.
func referred(t testing.TB, p system, prefix string) referral {
	t.Helper()
	staff := person(t, p, "sam-staff", identity.Staff)
	code := prefix + "-" + randomHex(4)
	var r referral
	r.manager, r.managerH = newManager(t, p, staff, "ada", map[string]any{
		"name": "Ada Lovelace", "email": "ada." + randomHex(3) + "@im.example.com", "referral_code": code, "commission_bps": 150,
	})
	r.customer = person(t, p, "olivia", identity.Customer)
	expectJSON(t, apptest.Do(t, http.MethodPost, p.URL("accounts")+"/v1/accounts", map[string]any{
		"owner_name": "Olivia Owner", "email": "olivia." + randomHex(3) + "@example.com", "referral_code": code,
	}, r.customer...), http.StatusCreated, &r.account, accountKeys...)
	waitManaged(t, p.URL("portal"), r.customer, r.account.ID, r.manager.ID)
	return r
}

// correlationSuite follows an X-Request-Id from a deposit request to the log
// line of im handling the funds_deposited event it caused, in whichever
// process im runs.
func correlationSuite(t *testing.T, p system) {
	acc, im, portal := p.URL("accounts"), p.URL("im"), p.URL("portal")
	staff := person(t, p, "sid-staff", identity.Staff)
	carl := person(t, p, "carl", identity.Customer)

	code := "CORR-" + randomHex(4)
	mgr, cora := newManager(t, p, staff, "cora", map[string]any{
		"name": "Cora", "email": "cora@im.example.com", "referral_code": code, "commission_bps": 100,
	})
	var a account
	expectJSON(t, apptest.Do(t, http.MethodPost, acc+"/v1/accounts", map[string]any{
		"owner_name": "Carl", "email": "carl@example.com", "referral_code": code,
	}, carl...), http.StatusCreated, &a, accountKeys...)
	waitManaged(t, portal, carl, a.ID, mgr.ID)

	id := newUUID()
	r := apptest.Do(t, http.MethodPost, acc+"/v1/accounts/"+a.ID+"/deposits", map[string]any{"amount": 500},
		append([]string{"X-Request-Id", id}, carl...)...)
	var tx transaction
	expectJSON(t, r, http.StatusCreated, &tx, transactionKeys...)
	if got := r.Header.Get("X-Request-Id"); got != id {
		t.Errorf("deposit response X-Request-Id %q, want the request's %q", got, id)
	}

	line := waitHandled(t, p, "funds_deposited", id)
	if line["level"] != "INFO" || line["error"] != nil {
		t.Fatalf("im handled the deposit with an error: %s", describe(line))
	}
	// The commission recorded by that handling is this deposit's.
	cs := waitCommissions(t, im, cora, mgr.ID, 1)
	expectCommissions(t, cs, a.ID, map[string]int64{tx.ID: 5}, 5)
}

// waitHandled polls the JSON log of im's process for the line of im handling
// an event whose topic contains topic, carrying correlationID, and returns it.
func waitHandled(t testing.TB, p system, topic, correlationID string) map[string]any {
	t.Helper()
	var line map[string]any
	apptest.Eventually(t, eventually, "im's log line for handling "+topic+" with correlation_id "+correlationID, func() bool {
		for _, l := range logLines(p.Logs("im")) {
			handler, _ := l["handler"].(string)
			if l["module"] == "im" && l["correlation_id"] == correlationID && strings.Contains(handler, topic) {
				line = l
				return true
			}
		}
		return false
	})
	return line
}

// deposit posts a deposit as the person as (the account's owner), with
// headers, and checks the transaction it returns.
func deposit(t testing.TB, base string, as []string, accountID string, amount, balanceAfter int64, headers ...string) transaction {
	t.Helper()
	var tx transaction
	expectJSON(t, apptest.Do(t, http.MethodPost, base+"/v1/accounts/"+accountID+"/deposits", map[string]any{"amount": amount},
		append(slices.Clone(headers), as...)...),
		http.StatusCreated, &tx, transactionKeys...)
	expectUUID(t, "transaction id", tx.ID)
	expectTime(t, "transaction created_at", tx.CreatedAt)
	if tx.Kind != "deposit" || tx.AccountID != accountID || tx.Amount != amount || tx.BalanceAfter != balanceAfter {
		t.Fatalf("deposit of %d = %+v, want kind deposit, account %s, balance_after %d", amount, tx, accountID, balanceAfter)
	}
	return tx
}

// expectBalance fails unless the account has balance want, read as the
// person as.
func expectBalance(t testing.TB, base string, as []string, accountID string, want int64) {
	t.Helper()
	var a account
	expectJSON(t, apptest.Do(t, http.MethodGet, base+"/v1/accounts/"+accountID, nil, as...), http.StatusOK, &a, accountKeys...)
	if a.Balance != want {
		t.Fatalf("balance of %s is %d, want %d", accountID, a.Balance, want)
	}
}

// portalOf GETs the portal's view of an account as the person as and checks
// its shape: the account, a manager object or null, and nothing degraded.
func portalOf(t testing.TB, portal string, as []string, accountID string) portalView {
	t.Helper()
	var v portalView
	m := expectJSON(t, apptest.Do(t, http.MethodGet, portal+"/v1/portal/accounts/"+accountID, nil, as...), http.StatusOK, &v,
		"account", "manager", "degraded")
	if d, ok := m["degraded"].([]any); !ok || len(d) != 0 {
		t.Fatalf("portal degraded = %v, want [] with every module up", m["degraded"])
	}
	if v.Account.ID != accountID {
		t.Fatalf("portal account id %q, want %s", v.Account.ID, accountID)
	}
	if v.Manager != nil {
		expectUUID(t, "portal manager id", v.Manager.ID)
	}
	return v
}

// waitManaged polls the portal, as the person as, until accountID has a
// manager, which must be managerID.
func waitManaged(t testing.TB, portal string, as []string, accountID, managerID string) portalView {
	t.Helper()
	var v portalView
	apptest.Eventually(t, eventually, "account "+accountID+" managed in the portal", func() bool {
		v = portalOf(t, portal, as, accountID)
		return v.Manager != nil
	})
	if v.Manager.ID != managerID {
		t.Fatalf("account %s is managed by %s, want %s", accountID, v.Manager.ID, managerID)
	}
	return v
}

// waitCommissions polls a manager's commissions, as the person as (the
// manager, or staff), until there are at least n, then checks the total is
// their sum.
func waitCommissions(t testing.TB, im string, as []string, managerID string, n int) commissions {
	t.Helper()
	return waitCommissionsWithin(t, eventually, im, as, managerID, n)
}

// waitCommissionsWithin is waitCommissions with a timeout.
func waitCommissionsWithin(t testing.TB, timeout time.Duration, im string, as []string, managerID string, n int) commissions {
	t.Helper()
	var cs commissions
	poll(t, timeout, "commissions of manager "+managerID, func() bool {
		cs = commissions{}
		pages(t, im+"/v1/managers/"+managerID+"/commissions", func(body []byte) {
			var page commissions
			var fields map[string]json.RawMessage
			if json.Unmarshal(body, &fields) != nil || fields["total"] == nil || json.Unmarshal(body, &page) != nil {
				t.Fatalf("commissions of manager %s: want items and a total: %s", managerID, body)
			}
			cs.Items, cs.Total = append(cs.Items, page.Items...), page.Total // the total is of every page
		}, as...)
		return len(cs.Items) >= n
	})
	var sum int64
	for _, c := range cs.Items {
		expectUUID(t, "commission id", c.ID)
		expectTime(t, "commission created_at", c.CreatedAt)
		sum += c.Amount
	}
	if sum != cs.Total {
		t.Fatalf("commission total %d, want the sum of the items %d: %s", cs.Total, sum, describe(cs))
	}
	return cs
}

// expectCommissions fails unless cs holds exactly one commission per wanted
// transaction of accountID, with the wanted amount, and the total.
func expectCommissions(t testing.TB, cs commissions, accountID string, want map[string]int64, total int64) {
	t.Helper()
	if len(cs.Items) != len(want) || cs.Total != total {
		t.Fatalf("commissions %s, want %d (one per deposit) totalling %d", describe(cs), len(want), total)
	}
	seen := map[string]bool{}
	for _, c := range cs.Items {
		amount, ok := want[c.TransactionID]
		if !ok || seen[c.TransactionID] || c.AccountID != accountID || c.Amount != amount {
			t.Fatalf("commission %+v: want one per deposit %s of account %s, amount floor(deposit*bps/10000)", c, describe(want), accountID)
		}
		seen[c.TransactionID] = true
	}
}

// waitSent polls a notifications list, as the person as, until it holds n
// emails, all handled by the mailer, and fails if it holds more. The binary
// runs with the default --mail-url log, whose emails are "recorded" rather
// than "sent".
func waitSent(t testing.TB, url string, as []string, n int) []notification {
	t.Helper()
	return waitSentWithin(t, eventually, url, as, n)
}

// waitSentWithin is waitSent with a timeout.
func waitSentWithin(t testing.TB, timeout time.Duration, url string, as []string, n int) []notification {
	t.Helper()
	var ns []notification
	poll(t, timeout, "emails at "+url+" recorded", func() bool {
		ns = nil
		items(t, url, &ns, as...)
		if len(ns) > n {
			t.Fatalf("%d emails at %s, want %d: %s", len(ns), url, n, describe(ns))
		}
		for _, e := range ns {
			if e.Status != "recorded" {
				return false
			}
		}
		return len(ns) == n
	})
	for i, e := range ns {
		expectUUID(t, "notification id", e.ID)
		if e.Subject == "" || e.To == "" {
			t.Fatalf("email without subject or recipient: %+v", e)
		}
		if i+1 < len(ns) && expectTime(t, "created_at", e.CreatedAt).Before(expectTime(t, "created_at", ns[i+1].CreatedAt)) {
			t.Fatalf("emails at %s are not newest first: %s", url, describe(ns))
		}
	}
	return ns
}

// getSummary GETs a manager's summary as the person as (the manager, or
// staff) and checks its shape.
func getSummary(t testing.TB, im string, as []string, managerID string) summary {
	t.Helper()
	var s summary
	m := expectJSON(t, apptest.Do(t, http.MethodGet, im+"/v1/managers/"+managerID+"/summary", nil, as...), http.StatusOK, &s,
		"manager", "accounts", "commission_total")
	if _, ok := m["accounts"].([]any); !ok {
		t.Fatalf("summary accounts is %v, want an array", m["accounts"])
	}
	return s
}

// signed is a transaction's effect on the balance, whatever sign convention
// the amount uses.
func signed(tx transaction) int64 {
	switch tx.Kind {
	case "withdrawal", "debit":
		return -abs(tx.Amount)
	default:
		return abs(tx.Amount)
	}
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// poll polls cond every 100ms until it holds or timeout passes: for waits
// of lists that take several requests a round, or that may last long
// (settle), kept within a person's rate limit (100 requests a second per
// module, a burst of 200) however long they last.
func poll(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	pollEvery(t, timeout, 100*time.Millisecond, what, cond)
}

// pollEvery is poll with a pause of every between two rounds.
func pollEvery(t testing.TB, timeout, every time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %s", what, timeout)
		}
		time.Sleep(every)
	}
}
