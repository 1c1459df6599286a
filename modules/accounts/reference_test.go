package accounts_test

import (
	"errors"
	"testing"

	gateway "github.com/uberservice/uberservice/gateway/accounts"
	"github.com/uberservice/uberservice/platform/apptest"
)

// A reference is the calling module's: another module's credit with the
// reference an order's refund will use is a movement of its own and does not
// stop the refund, while the same module giving one reference two amounts is
// still a conflict.
func TestAReferenceBelongsToTheModuleThatGaveIt(t *testing.T) {
	sys := start(t)
	api := apiOf(t, sys)
	acc := api.open(t, "USD")
	impl := apptest.Local(t, sys, gateway.Gateway)
	as := func(module string) gateway.Accounts { return gateway.Gateway.Local(impl, module) }
	refund := gateway.Movement{AccountID: acc.ID, Amount: 7998, Currency: "USD", Reference: "0190a6f4-6d0e-7b8a-9c1d-2e3f4a5b6c7d"}

	squat := refund
	squat.Amount = 1
	if _, err := as("im").Credit(t.Context(), squat); err != nil {
		t.Fatalf("im's credit: %v", err)
	}
	first, err := as("orders").Credit(t.Context(), refund)
	if err != nil {
		t.Fatalf("orders' refund after im took its reference: %v", err)
	}
	again, err := as("orders").Credit(t.Context(), refund)
	if err != nil || again.ID != first.ID {
		t.Fatalf("orders' refund sent again: %v, %v; want the same transaction %s", again.ID, err, first.ID)
	}
	if _, err := as("orders").Credit(t.Context(), squat); !errors.Is(err, gateway.ErrReferenceConflict) {
		t.Fatalf("orders giving its reference another amount: %v, want reference_conflict", err)
	}
	if got := api.get(t, acc.ID).Balance; got != 7998+1 {
		t.Fatalf("balance %d, want the refund and im's credit: %d", got, 7998+1)
	}
}
