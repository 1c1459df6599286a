package accounts_test

import (
	"slices"
	"testing"

	gateway "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/platform/apptest"
)

// An account's ledger and emails are lists like any: paged newest first, two
// at a time here, with every movement and email there when paging began
// shown once, none skipped or repeated while deposits land between pages,
// nothing of another account's, and bad paging refused.
func TestListsArePaged(t *testing.T) {
	sys := start(t)
	api := apiOf(t, sys)
	acc, other := api.open(t, "USD"), api.open(t, "USD")
	db := sys.Schema(t, gateway.Name)
	emails := func(t testing.TB) []string {
		t.Helper()
		var ids []string
		if err := db.Raw(`SELECT id::text FROM notifications WHERE owner_ref = ?`, acc.ID.String()).Scan(&ids).Error; err != nil {
			t.Fatal(err)
		}
		return ids
	}
	// move deposits into acc and returns the transaction and the email to
	// the owner it made, the email read from the schema as the one that was
	// not there before, whatever order the list says; ledger and mails
	// collect them, newest first.
	var ledger, mails []string
	move := func(t testing.TB) (tx, email string) {
		t.Helper()
		before := emails(t)
		tx = api.deposit(t, acc.ID, 100).ID.String()
		for _, id := range emails(t) {
			if !slices.Contains(before, id) {
				email = id
			}
		}
		if email == "" {
			t.Fatal("a deposit sent the owner no email")
		}
		ledger, mails = append([]string{tx}, ledger...), append([]string{email}, mails...)
		return tx, email
	}
	for range 7 {
		api.deposit(t, other.ID, 100)
		move(t)
	}

	t.Run("transactions", func(t *testing.T) {
		apptest.ExpectPaged(t, apptest.List{URL: api.account(acc.ID) + "/transactions", Header: api.owner, Want: slices.Clone(ledger),
			Add: func(t testing.TB) string { tx, _ := move(t); return tx }})
	})
	t.Run("notifications", func(t *testing.T) {
		apptest.ExpectPaged(t, apptest.List{URL: api.account(acc.ID) + "/notifications", Header: api.owner, Want: slices.Clone(mails),
			Add: func(t testing.TB) string { _, email := move(t); return email }})
	})
}
