package im_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	imgw "github.com/uberservice/uberservice/gateway/im"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/mail"
)

// The story of the seed: an account opened with a manager's referral code
// becomes managed without the accounts context knowing managers exist; each
// deposit pays the manager a commission and tells them by an email of their
// own; the manager's summary shows balances from the accounts context.
func TestManagedAccountStory(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	code := uniqueCode("ADA")
	ada := w.createManager(t, "ada", "Ada Manager", "ada@managers.example", code, 150)
	if ada.ID == uuid.Nil || ada.Subject != "ada" || ada.Name != "Ada Manager" || ada.Email != "ada@managers.example" ||
		ada.ReferralCode != code || ada.CommissionBps != 150 || ada.CreatedAt.IsZero() {
		t.Fatalf("created manager = %+v", ada)
	}
	got := apptest.Do(t, http.MethodGet, w.im("/v1/managers/"+ada.ID.String()), nil, w.as(t, ada)...).Expect(t, http.StatusOK).JSON(t)
	if got["id"] != ada.ID.String() || got["subject"] != "ada" || got["referral_code"] != code || got["commission_bps"] != float64(150) {
		t.Fatalf("GET manager = %v", got)
	}

	t.Log("an account opened with the referral code becomes managed")
	bob := w.openAccount(t, "Bob Owner", "bob@owners.example", code)
	apptest.Eventually(t, 5*time.Second, "the account is linked to its manager", func() bool {
		m := w.managerOf(t, bob.ID)
		return m != nil && m.ID == ada.ID
	})

	t.Log("deposits pay commission, rounded down")
	small := w.deposit(t, bob, 999)   // 999 * 1.50% = 14.985
	large := w.deposit(t, bob, 10000) // 10000 * 1.50% = 150
	apptest.Eventually(t, 5*time.Second, "two commissions", func() bool { return len(w.commissions(t, ada).Items) == 2 })
	list := w.commissions(t, ada)
	if list.Total != 164 {
		t.Errorf("commission total = %d, want 14 + 150", list.Total)
	}
	newest, oldest := list.Items[0], list.Items[1]
	if newest.TransactionID != large.ID || newest.Amount != 150 || oldest.TransactionID != small.ID || oldest.Amount != 14 {
		t.Errorf("commissions, newest first = %+v", list.Items)
	}
	for _, c := range list.Items {
		if c.AccountID != bob.ID || c.ID == uuid.Nil || c.CreatedAt.IsZero() || c.Currency != "USD" {
			t.Errorf("commission = %+v", c)
		}
	}

	t.Log("the manager gets an email of their own for each deposit; the owner's are the owner's alone")
	managerMail := w.managerMail(t, ada) // written with the commissions, in one transaction
	if len(managerMail.Items) != 2 {
		t.Fatalf("manager emails = %+v, want 2", managerMail.Items)
	}
	for _, n := range managerMail.Items {
		if n.To != ada.Email || !strings.Contains(n.Subject, "Deposit") {
			t.Errorf("manager email = %+v", n)
		}
	}
	ownerMail := w.ownerMail(t, bob)
	if len(ownerMail.Items) < 2 {
		t.Errorf("owner emails = %+v, want at least the two deposit confirmations", ownerMail.Items)
	}
	for _, n := range ownerMail.Items {
		if n.To != bob.Email {
			t.Errorf("owner email to %q, want only %q: %+v", n.To, bob.Email, n)
		}
	}
	sentTo := func(to string) []mail.Message {
		var out []mail.Message
		for _, m := range w.Mail.Sent() {
			if m.To == to {
				out = append(out, m)
			}
		}
		return out
	}
	apptest.Eventually(t, 5*time.Second, "the manager's emails are sent", func() bool { return len(sentTo(ada.Email)) == 2 })
	var body string
	for _, m := range sentTo(ada.Email) {
		if strings.Contains(m.Subject, "9.99 USD") {
			body = m.Body
		}
	}
	if !strings.Contains(body, bob.ID.String()) || !strings.Contains(body, small.ID.String()) || !strings.Contains(body, "0.14 USD") {
		t.Errorf("email for the 9.99 USD deposit = %q, want the account, the transaction and a 0.14 USD commission", body)
	}

	t.Log("the summary shows balances from accounts")
	s := w.summary(t, ada)
	if s.Manager.ID != ada.ID || s.CommissionTotal != 164 || len(s.Accounts) != 1 {
		t.Fatalf("summary = %+v", s)
	}
	if a := s.Accounts[0]; a.AccountID != bob.ID || a.OwnerName != "Bob Owner" || a.Balance != 10999 || a.Currency != "USD" {
		t.Errorf("summary account = %+v", a)
	}

	t.Log("an account can be linked by hand, idempotently")
	carol := w.openAccount(t, "Carol Owner", "carol@owners.example", "")
	var first, again link
	w.link(t, ada.ID, carol.ID).Expect(t, http.StatusCreated).Decode(t, &first)
	if first.ManagerID != ada.ID || first.AccountID != carol.ID || first.CreatedAt.IsZero() {
		t.Fatalf("link = %+v", first)
	}
	w.link(t, ada.ID, carol.ID).Expect(t, http.StatusOK).Decode(t, &again)
	if !again.CreatedAt.Equal(first.CreatedAt) || again.ManagerID != ada.ID {
		t.Errorf("second link = %+v, want the first %+v", again, first)
	}
	if s := w.summary(t, ada); len(s.Accounts) != 2 || s.Accounts[1].AccountID != carol.ID || s.Accounts[1].Balance != 0 {
		t.Errorf("summary after linking = %+v", s.Accounts)
	}

	t.Log("an account has at most one manager; only existing accounts can be linked")
	grace := w.newManager(t, "Grace Manager", 0)
	w.link(t, grace.ID, bob.ID).ExpectProblem(t, http.StatusConflict, "account_already_managed")
	w.link(t, ada.ID, uuid.New()).ExpectProblem(t, http.StatusUnprocessableEntity, "unknown_account")

	t.Log("a link is removed by its own manager only")
	unlink := func(m imgw.Manager, accountID uuid.UUID) apptest.Response {
		return w.unlinkAs(t, w.as(t, m), m.ID, accountID)
	}
	unlink(grace, carol.ID).ExpectProblem(t, http.StatusNotFound, "link_not_found")
	unlink(ada, carol.ID).Expect(t, http.StatusNoContent)
	unlink(ada, carol.ID).ExpectProblem(t, http.StatusNotFound, "link_not_found")

	t.Log("deposits into an unmanaged account pay nobody")
	w.deposit(t, carol, 5000)
	w.deposit(t, bob, 200) // handled after Carol's: the bus keeps order
	apptest.Eventually(t, 5*time.Second, "the third commission", func() bool { return len(w.commissions(t, ada).Items) == 3 })
	if l := w.commissions(t, ada); l.Total != 167 || l.Items[0].AccountID != bob.ID {
		t.Errorf("commissions after Carol left = %+v", l)
	}
	if l := w.commissions(t, grace); len(l.Items) != 0 || l.Total != 0 {
		t.Errorf("Grace earned %+v without accounts", l)
	}
	if n := len(w.managerMail(t, ada).Items); n != 3 {
		t.Errorf("Ada has %d emails, want 3", n)
	}

	t.Log("once free, the account can be linked to another manager")
	w.link(t, grace.ID, carol.ID).Expect(t, http.StatusCreated)
	if s := w.summary(t, grace); len(s.Accounts) != 1 || s.Accounts[0].Balance != 5000 || s.CommissionTotal != 0 {
		t.Errorf("Grace's summary = %+v", s)
	}
}
