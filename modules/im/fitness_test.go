package im_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/gateway/accounts/events"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/fitness"
)

// im's effects, as GET /ops/effects serves them to an operator: the
// commission and the manager's email of each deposit, keyed by its
// transaction id, so that a shadow's meet the live module's.
func TestEffectsAreKeyedByTransaction(t *testing.T) {
	t.Parallel()
	w := start(t, app.Config{})
	m := w.newManager(t, "Ada Manager", 150)
	account := w.openAccount(t, "Bob Owner", "bob@owners.example", "")
	w.link(t, m.ID, account.ID).Expect(t, http.StatusCreated)
	payload, txID := depositPayload(t, account.ID, 1001)
	w.Deliver(t, events.TopicFundsDepositedV2, uuid.NewString(), payload)

	var s fitness.Snapshot
	apptest.Do(t, http.MethodGet, w.InternalURL("im")+app.EffectsPath+"?since=1h", nil, w.Operator(t)...).Expect(t, http.StatusOK).Decode(t, &s)
	if s.Module != "im" || s.Shadow != "" || len(s.Effects) != 2 {
		t.Fatalf("effects %+v, want im's commission and manager_email", s)
	}
	if got := s.Effects["commission"][txID.String()]; got != "15 USD" {
		t.Errorf("commission of %s = %q, want 15 USD (1.5%% of 1001, rounded down)", txID, got)
	}
	if got := s.Effects["manager_email"][txID.String()]; !strings.Contains(got, m.Email) {
		t.Errorf("manager email of %s = %q, want one to %s", txID, got, m.Email)
	}
}
