package im_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/gateway/accounts/events"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
)

// TestPublicAPIRefusesBadInput runs every public route through the platform's
// bad-input suite: each way of breaking a request is a 4xx problem+json that
// changes nothing. Each example is sent by a person the route admits: staff
// to create managers and link accounts, the manager on their own record.
func TestPublicAPIRefusesBadInput(t *testing.T) {
	w := start(t, app.Config{})
	m := w.newManager(t, "Ada Manager", 150)
	linked := w.openAccount(t, "Grace", "grace@example.com", "")
	w.link(t, m.ID, linked.ID).Expect(t, 201)
	for range 2 { // two commissions and two emails: lists that give a cursor to break
		payload, _ := depositPayload(t, linked.ID, 10000)
		w.Deliver(t, events.TopicFundsDepositedV2, uuid.NewString(), payload)
	}
	other := w.openAccount(t, "Alan", "alan@example.com", "")
	manager, staff, self := w.im("/v1/managers/"+m.ID.String()), w.staff(t), w.as(t, m)
	w.RefusesBadInput(t, "im",
		apptest.Example{Method: "POST", URL: w.im("/v1/managers"), Header: staff,
			Body: `{"subject":"barbara","name":"Barbara Manager","email":"barbara@im.example","referral_code":"BARBARA-1","commission_bps":100}`},
		apptest.Example{Method: "GET", URL: manager, Header: self},
		apptest.Example{Method: "POST", URL: manager + "/accounts", Header: staff, Body: `{"account_id":"` + other.ID.String() + `"}`},
		apptest.Example{Method: "DELETE", URL: manager + "/accounts/" + linked.ID.String(), Header: self},
		apptest.Example{Method: "GET", URL: manager + "/summary", Header: self},
		apptest.Example{Method: "GET", URL: manager + "/commissions", Header: self},
		apptest.Example{Method: "GET", URL: manager + "/notifications", Header: self},
	)
}
