package im_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/gateway/accounts/events"
	"github.com/uberservice/uberservice/modules/accounts"
	"github.com/uberservice/uberservice/modules/im"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
)

// On a broker, events of different topics may overtake each other: an
// account's first deposit can reach im before the account_created that links
// it. The deposit must still pay its commission, and the late account_created
// must not undo what happened in between.
func TestDepositOvertakingAccountCreatedStillPaysOnce(t *testing.T) {
	t.Parallel()
	// accounts runs apart, on a bus of its own: im hears only what the test
	// publishes, in the order the test chooses.
	both := []app.Module{accounts.Module(), im.Module()} // one binary's modules, each started apart
	acc := apptest.Start(t, both, app.Config{Modules: []string{"accounts"}})
	w := world{apptest.Start(t, both, app.Config{Modules: []string{"im"},
		Peers: map[string]string{"accounts": acc.InternalURL("accounts")},
	})}
	ada := w.newManager(t, "Ada Manager", 150)
	account := world{acc}.openAccount(t, "Bob Owner", "bob@owners.example", ada.ReferralCode)

	payload, _ := depositPayload(t, account.ID, 10000)
	w.Deliver(t, events.TopicFundsDepositedV2, uuid.NewString(), payload)
	if c := w.commissions(t, ada); len(c.Items) != 1 || c.Total != 150 {
		t.Fatalf("commissions after an overtaking deposit: %+v, want one of 150", c)
	}

	// The manager lets the account go; then the late account_created arrives.
	w.unlinkAs(t, w.as(t, ada), ada.ID, account.ID).Expect(t, http.StatusNoContent)
	created, err := json.Marshal(events.AccountCreated{AccountID: account.ID, OwnerName: account.OwnerName,
		Email: account.Email, Currency: account.Currency, ReferralCode: ada.ReferralCode, CreatedAt: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	w.Deliver(t, events.TopicAccountCreated, uuid.NewString(), created)
	if m := w.managerOf(t, account.ID); m != nil {
		t.Fatalf("the late account_created relinked the account to %s", m.ID)
	}
}
