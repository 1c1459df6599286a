package im_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/gateway/accounts/events"
	"github.com/uberservice/uberservice/modules/im"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/httpclient"
)

// Every im endpoint answers bad input with a 4xx problem, never a 5xx, and
// changes nothing.
func TestBadInputIsRefusedAndChangesNothing(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	ada := w.newManager(t, "Ada Manager", 150)
	account := w.openAccount(t, "Bob Owner", "bob@owners.example", "")
	unknown := uuid.NewString()

	// Every bad request to create a manager carries the same, free, referral
	// code and subject: if any of them created a manager, they would be
	// taken after.
	code, subject := uniqueCode("BAD"), uniqueCode("eve")
	manager := func(change func(m map[string]any)) map[string]any {
		m := map[string]any{"subject": subject, "name": "Eve Manager", "email": "eve@managers.example", "referral_code": code, "commission_bps": 100}
		change(m)
		return m
	}
	set := func(field string, v any) func(map[string]any) { return func(m map[string]any) { m[field] = v } }
	drop := func(field string) func(map[string]any) { return func(m map[string]any) { delete(m, field) } }
	valid, _ := json.Marshal(manager(func(map[string]any) {}))

	mgr := "/v1/managers/" + ada.ID.String()
	cases := []struct {
		name         string
		method, path string
		body         any
		headers      []string
		status       int
		code         string
		field        string // for 422: the field named in errors
	}{
		{"create: malformed JSON", "POST", "/v1/managers", `{"name":`, nil, 400, "malformed_request", ""},
		{"create: empty body", "POST", "/v1/managers", "", nil, 400, "malformed_request", ""},
		{"create: an array", "POST", "/v1/managers", "[]", nil, 400, "malformed_request", ""},
		{"create: commission as a string", "POST", "/v1/managers", manager(set("commission_bps", "100")), nil, 400, "malformed_request", ""},
		{"create: fractional commission", "POST", "/v1/managers", manager(set("commission_bps", 1.5)), nil, 400, "malformed_request", ""},
		{"create: commission beyond any integer", "POST", "/v1/managers", manager(set("commission_bps", 1e30)), nil, 400, "malformed_request", ""},
		{"create: name as a number", "POST", "/v1/managers", manager(set("name", 7)), nil, 400, "malformed_request", ""},
		{"create: unknown field", "POST", "/v1/managers", manager(set("role", "admin")), nil, 400, "malformed_request", ""},
		{"create: trailing data", "POST", "/v1/managers", string(valid) + "{}", nil, 400, "malformed_request", ""},
		{"create: not JSON", "POST", "/v1/managers", string(valid), []string{"Content-Type", "text/plain"}, 415, "unsupported_media_type", ""},
		{"create: too large", "POST", "/v1/managers", manager(set("name", strings.Repeat("a", 70<<10))), nil, 413, "body_too_large", ""},
		{"create: null", "POST", "/v1/managers", "null", nil, 422, "validation_failed", "name"},
		{"create: no name", "POST", "/v1/managers", manager(drop("name")), nil, 422, "validation_failed", "name"},
		{"create: blank name", "POST", "/v1/managers", manager(set("name", "  ")), nil, 422, "validation_failed", "name"},
		{"create: long name", "POST", "/v1/managers", manager(set("name", strings.Repeat("a", 201))), nil, 422, "validation_failed", "name"},
		{"create: a NUL in the name", "POST", "/v1/managers", manager(set("name", "Eve\x00")), nil, 422, "validation_failed", "name"},
		{"create: CR LF in the name", "POST", "/v1/managers", manager(set("name", "Eve\r\nManager")), nil, 422, "validation_failed", "name"},
		{"create: a tab in the name", "POST", "/v1/managers", manager(set("name", "Eve\tManager")), nil, 422, "validation_failed", "name"},
		{"create: a name of only a zero-width space", "POST", "/v1/managers", manager(set("name", "\u200b")), nil, 422, "validation_failed", "name"},
		{"create: a right-to-left override in the name", "POST", "/v1/managers", manager(set("name", "Eve\u202eregana")), nil, 422, "validation_failed", "name"},
		{"create: a name not in UTF-8", "POST", "/v1/managers", `{"subject":"` + subject + `","name":"Ev` + "\xe9" + `","email":"eve@managers.example","referral_code":"` + code + `","commission_bps":100}`, nil, 400, "malformed_request", ""},
		{"create: subject as a number", "POST", "/v1/managers", manager(set("subject", 7)), nil, 400, "malformed_request", ""},
		{"create: no subject", "POST", "/v1/managers", manager(drop("subject")), nil, 422, "validation_failed", "subject"},
		{"create: blank subject", "POST", "/v1/managers", manager(set("subject", "  ")), nil, 422, "validation_failed", "subject"},
		{"create: a NUL in the subject", "POST", "/v1/managers", manager(set("subject", subject+"\x00")), nil, 422, "validation_failed", "subject"},
		{"create: a zero-width space in the subject", "POST", "/v1/managers", manager(set("subject", subject+"\u200b")), nil, 422, "validation_failed", "subject"},
		{"create: a right-to-left override in the subject", "POST", "/v1/managers", manager(set("subject", "\u202e"+subject)), nil, 422, "validation_failed", "subject"},
		{"create: subject of 256 characters", "POST", "/v1/managers", manager(set("subject", strings.Repeat("s", 256))), nil, 422, "validation_failed", "subject"},
		{"create: subject of 128 characters but 256 bytes", "POST", "/v1/managers", manager(set("subject", strings.Repeat("é", 128))), nil, 422, "validation_failed", "subject"},
		{"create: the subject of another manager", "POST", "/v1/managers", manager(set("subject", ada.Subject)), nil, 409, "subject_has_manager", ""},
		{"create: a right-to-left override in the email", "POST", "/v1/managers", manager(set("email", "eve\u202e@managers.example")), nil, 422, "validation_failed", "email"},
		{"create: a zero-width space in the email", "POST", "/v1/managers", manager(set("email", "eve\u200b@managers.example")), nil, 422, "validation_failed", "email"},
		{"create: no email", "POST", "/v1/managers", manager(drop("email")), nil, 422, "validation_failed", "email"},
		{"create: bad email", "POST", "/v1/managers", manager(set("email", "eve.example")), nil, 422, "validation_failed", "email"},
		{"create: email with a display name", "POST", "/v1/managers", manager(set("email", "Eve <eve@managers.example>")), nil, 422, "validation_failed", "email"},
		{"create: no referral code", "POST", "/v1/managers", manager(drop("referral_code")), nil, 422, "validation_failed", "referral_code"},
		{"create: long referral code", "POST", "/v1/managers", manager(set("referral_code", strings.Repeat("C", 65))), nil, 422, "validation_failed", "referral_code"},
		{"create: referral code with blanks around", "POST", "/v1/managers", manager(set("referral_code", " "+code)), nil, 422, "validation_failed", "referral_code"},
		{"create: referral code with a control character", "POST", "/v1/managers", manager(set("referral_code", code+"\x00")), nil, 422, "validation_failed", "referral_code"},
		{"create: referral code with a no-break space", "POST", "/v1/managers", manager(set("referral_code", "BAD\u00a0"+code)), nil, 422, "validation_failed", "referral_code"},
		{"create: referral code with a LF", "POST", "/v1/managers", manager(set("referral_code", code+"\n")), nil, 422, "validation_failed", "referral_code"},
		{"create: referral code with a zero-width space", "POST", "/v1/managers", manager(set("referral_code", code+"\u200b")), nil, 422, "validation_failed", "referral_code"},
		{"create: referral code with a right-to-left override", "POST", "/v1/managers", manager(set("referral_code", "\u202e"+code)), nil, 422, "validation_failed", "referral_code"},
		{"create: no commission", "POST", "/v1/managers", manager(drop("commission_bps")), nil, 422, "validation_failed", "commission_bps"},
		{"create: negative commission", "POST", "/v1/managers", manager(set("commission_bps", -1)), nil, 422, "validation_failed", "commission_bps"},
		{"create: commission over 100%", "POST", "/v1/managers", manager(set("commission_bps", 10001)), nil, 422, "validation_failed", "commission_bps"},
		{"create: taken referral code", "POST", "/v1/managers", manager(set("referral_code", ada.ReferralCode)), nil, 409, "referral_code_taken", ""},
		{"create: wrong method", "PUT", "/v1/managers", manager(func(map[string]any) {}), nil, 405, "method_not_allowed", ""},

		{"get: malformed id", "GET", "/v1/managers/nope", nil, nil, 404, "manager_not_found", ""},
		{"get: unknown id", "GET", "/v1/managers/" + unknown, nil, nil, 404, "manager_not_found", ""},

		{"link: malformed manager", "POST", "/v1/managers/nope/accounts", map[string]any{"account_id": account.ID}, nil, 404, "manager_not_found", ""},
		{"link: unknown manager", "POST", "/v1/managers/" + unknown + "/accounts", map[string]any{"account_id": account.ID}, nil, 404, "manager_not_found", ""},
		{"link: malformed JSON", "POST", mgr + "/accounts", `{"account_id"`, nil, 400, "malformed_request", ""},
		{"link: account id as a number", "POST", mgr + "/accounts", map[string]any{"account_id": 5}, nil, 400, "malformed_request", ""},
		{"link: unknown field", "POST", mgr + "/accounts", map[string]any{"account": account.ID}, nil, 400, "malformed_request", ""},
		{"link: no account id", "POST", mgr + "/accounts", map[string]any{}, nil, 422, "validation_failed", "account_id"},
		{"link: malformed account id", "POST", mgr + "/accounts", map[string]any{"account_id": "nope"}, nil, 422, "validation_failed", "account_id"},
		{"link: unknown account", "POST", mgr + "/accounts", map[string]any{"account_id": unknown}, nil, 422, "unknown_account", ""},

		{"unlink: malformed manager", "DELETE", "/v1/managers/nope/accounts/" + account.ID.String(), nil, nil, 404, "manager_not_found", ""},
		{"unlink: unknown manager", "DELETE", "/v1/managers/" + unknown + "/accounts/" + account.ID.String(), nil, nil, 404, "manager_not_found", ""},
		{"unlink: malformed account", "DELETE", mgr + "/accounts/nope", nil, nil, 404, "link_not_found", ""},
		{"unlink: account not linked", "DELETE", mgr + "/accounts/" + account.ID.String(), nil, nil, 404, "link_not_found", ""},

		{"summary: malformed manager", "GET", "/v1/managers/nope/summary", nil, nil, 404, "manager_not_found", ""},
		{"summary: unknown manager", "GET", "/v1/managers/" + unknown + "/summary", nil, nil, 404, "manager_not_found", ""},
		{"commissions: malformed manager", "GET", "/v1/managers/nope/commissions", nil, nil, 404, "manager_not_found", ""},
		{"commissions: unknown manager", "GET", "/v1/managers/" + unknown + "/commissions", nil, nil, 404, "manager_not_found", ""},
		{"notifications: malformed manager", "GET", "/v1/managers/nope/notifications", nil, nil, 404, "manager_not_found", ""},
		{"notifications: unknown manager", "GET", "/v1/managers/" + unknown + "/notifications", nil, nil, 404, "manager_not_found", ""},

		{"gateway manager: malformed id", "GET", "/gateway/im/v1/managers/nope", nil, nil, 404, "manager_not_found", ""},
		{"gateway manager: unknown id", "GET", "/gateway/im/v1/managers/" + unknown, nil, nil, 404, "manager_not_found", ""},
		{"gateway manager of: malformed account", "GET", "/gateway/im/v1/accounts/nope/manager", nil, nil, 404, "not_found", ""},
		{"no such route", "GET", "/v1/managerz", nil, nil, 404, "not_found", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// As staff, whom every public route admits; the gateway as a module.
			url, headers := w.im(c.path), append(w.staff(t), c.headers...)
			if strings.HasPrefix(c.path, "/gateway/") {
				url, headers = w.InternalURL("im")+c.path, append(w.As(t, apptest.Harness, "im"), c.headers...)
			}
			p := apptest.Do(t, c.method, url, c.body, headers...).ExpectProblem(t, c.status, c.code)
			if c.field == "" {
				return
			}
			errs, _ := p["errors"].([]any)
			for _, e := range errs {
				if e.(map[string]any)["field"] == c.field {
					return
				}
			}
			t.Errorf("problem %v names no error on field %s", p, c.field)
		})
	}

	t.Log("nothing changed")
	w.createManager(t, subject, "Eve Manager", "eve@managers.example", code, 100)
	var got map[string]any
	apptest.Do(t, http.MethodGet, w.im(mgr), nil, w.as(t, ada)...).Expect(t, http.StatusOK).Decode(t, &got)
	if got["referral_code"] != ada.ReferralCode || got["commission_bps"] != float64(150) || got["name"] != ada.Name ||
		got["subject"] != ada.Subject {
		t.Errorf("Ada after bad requests = %v", got)
	}
	if s := w.summary(t, ada); len(s.Accounts) != 0 || s.CommissionTotal != 0 {
		t.Errorf("Ada's summary after bad requests = %+v", s)
	}
	if m := w.managerOf(t, account.ID); m != nil {
		t.Errorf("account got manager %+v from bad requests", m)
	}
}

// When the accounts context cannot be reached, what im must ask it is a 503
// that leaks nothing; what im knows alone it still answers.
func TestAccountsUnavailable(t *testing.T) {
	t.Parallel()
	w := world{apptest.Start(t, []app.Module{im.Module()}, app.Config{
		Peers:  map[string]string{"accounts": "http://127.0.0.1:1"}, // nothing listens there
		Client: httpclient.Options{Timeout: time.Second, Retries: 1, Backoff: 10 * time.Millisecond},
	})}
	m := w.newManager(t, "Ada Manager", 150)

	t.Log("linking asks accounts whether the account exists")
	p := w.link(t, m.ID, uuid.New()).ExpectProblem(t, http.StatusServiceUnavailable, "unavailable")
	if d, _ := p["detail"].(string); strings.Contains(d, "127.0.0.1") || strings.Contains(d, "refused") {
		t.Errorf("problem leaks the cause: %v", p)
	}

	t.Log("an account linked by its referral code needs no call to accounts")
	accountID := uuid.New()
	payload, err := json.Marshal(events.AccountCreated{AccountID: accountID, OwnerName: "Bob Owner", Email: "bob@owners.example",
		Currency: "USD", ReferralCode: m.ReferralCode, CreatedAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	w.Deliver(t, events.TopicAccountCreated, uuid.NewString(), payload)
	if got := w.managerOf(t, accountID); got == nil || got.ID != m.ID {
		t.Fatalf("manager of the new account = %+v", got)
	}
	w.link(t, m.ID, accountID).Expect(t, http.StatusOK)
	w.commissions(t, m)
	w.managerMail(t, m)

	t.Log("the summary needs balances from accounts")
	apptest.Do(t, http.MethodGet, w.im("/v1/managers/"+m.ID.String()+"/summary"), nil, w.as(t, m)...).
		ExpectProblem(t, http.StatusServiceUnavailable, "unavailable")
}
