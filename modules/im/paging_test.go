package im_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/gateway/accounts/events"
	imgw "github.com/uberservice/uberservice/gateway/im"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
)

// A manager's commissions and emails are lists like any: paged newest first,
// two at a time here, with everything there when paging began shown once,
// none skipped or repeated while deposits land between pages, nothing of
// another manager's, and bad paging refused. The commission total is of all
// the manager's commissions, whatever the page.
func TestListsArePaged(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	const bps = 100
	m, other := w.newManager(t, "Ada Manager", bps), w.newManager(t, "Grace Manager", bps)
	acc := w.openAccount(t, "Bob Owner", "bob@owners.example", "")
	otherAcc := w.openAccount(t, "Carol Owner", "carol@owners.example", "")
	w.link(t, m.ID, acc.ID).Expect(t, http.StatusCreated)
	w.link(t, other.ID, otherAcc.ID).Expect(t, http.StatusCreated)

	db := w.Schema(t, imgw.Name)
	emails := func(t testing.TB) []string {
		t.Helper()
		var ids []string
		if err := db.Raw(`SELECT id::text FROM notifications WHERE owner_ref = ?`, m.ID.String()).Scan(&ids).Error; err != nil {
			t.Fatal(err)
		}
		return ids
	}
	// deposit delivers a deposit into account as accounts announces it, and
	// returns the commission and the email to the manager it made, both read
	// from the schema, whatever order the lists say; commissions and mails
	// collect m's, newest first, and total adds them up.
	var commissions, mails []string
	var total int64
	deposit := func(t testing.TB, account uuid.UUID, amount int64) (commission, email string) {
		t.Helper()
		before := emails(t)
		payload, txID := depositPayload(t, account, amount)
		w.Deliver(t, events.TopicFundsDepositedV2, uuid.NewString(), payload)
		if account != acc.ID {
			return "", ""
		}
		if err := db.Raw(`SELECT id::text FROM commissions WHERE transaction_id = ?`, txID).Row().Scan(&commission); err != nil {
			t.Fatalf("the commission on deposit %s: %v", txID, err)
		}
		for _, id := range emails(t) {
			if !slices.Contains(before, id) {
				email = id
			}
		}
		if email == "" {
			t.Fatal("a deposit sent the manager no email")
		}
		commissions, mails = append([]string{commission}, commissions...), append([]string{email}, mails...)
		total += amount * bps / 10000
		return commission, email
	}
	for i := range 7 {
		deposit(t, otherAcc.ID, 5000)
		deposit(t, acc.ID, int64(1000*(i+1)))
	}
	manager, as := w.im("/v1/managers/"+m.ID.String()), w.as(t, m)

	t.Run("commissions", func(t *testing.T) {
		apptest.ExpectPaged(t, apptest.List{URL: manager + "/commissions", Header: as, Want: slices.Clone(commissions),
			Add: func(t testing.TB) string { c, _ := deposit(t, acc.ID, 700); return c }})
	})
	t.Run("the commission total is of every page", func(t *testing.T) {
		var first commissionList
		apptest.Do(t, http.MethodGet, manager+"/commissions?limit=2", nil, as...).Expect(t, http.StatusOK).Decode(t, &first)
		if len(first.Items) != 2 || first.Total != total {
			t.Errorf("a page of %d commissions totals %d, want 2 and the total %d of all %d", len(first.Items), first.Total, total, len(commissions))
		}
	})
	t.Run("notifications", func(t *testing.T) {
		apptest.ExpectPaged(t, apptest.List{URL: manager + "/notifications", Header: as, Want: slices.Clone(mails),
			Add: func(t testing.TB) string { _, e := deposit(t, acc.ID, 700); return e }})
	})
}
