package e2e

import (
	"net/http"
	"testing"

	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/identity"
)

// boundarySuite holds a running system to its modules' declarations at
// runtime: a gateway is reached on the internal port alone, and only by a
// module that declares it, proving who it is; the ops routes by an operator
// alone. Whatever is refused changes nothing.
func boundarySuite(t *testing.T, sys system) {
	acc := sys.URL("accounts")
	bea := person(t, sys, "bea-boundary", identity.Customer)
	var a account
	expectJSON(t, apptest.Do(t, http.MethodPost, acc+"/v1/accounts", map[string]any{
		"owner_name": "Bea Boundary", "email": "bea@example.com",
	}, bea...), http.StatusCreated, &a, accountKeys...)
	credit := map[string]any{"account_id": a.ID, "amount": 1000000, "currency": "USD", "reference": "x-" + randomHex(4)}
	credits := "/gateway/accounts/v1/credits"

	t.Log("an anonymous credit: 404 on the public port, 401 on the internal one")
	apptest.Do(t, http.MethodPost, acc+credits, credit).ExpectProblem(t, http.StatusNotFound, "not_found")
	apptest.Do(t, http.MethodPost, sys.InternalURL("accounts")+credits, credit).
		ExpectProblem(t, http.StatusUnauthorized, "unauthenticated")

	t.Log("a credit from warehouse, which does not declare the accounts gateway: 403")
	asWarehouse, err := sys.As("warehouse", "accounts")
	if err != nil {
		t.Fatal(err)
	}
	apptest.Do(t, http.MethodPost, sys.InternalURL("accounts")+credits, credit, asWarehouse...).
		ExpectProblem(t, http.StatusForbidden, "forbidden")

	t.Log("an operator's token opens the ops routes, not the gateways")
	apptest.Do(t, http.MethodPost, sys.InternalURL("accounts")+credits, credit, operator(t, sys)...).
		ExpectProblem(t, http.StatusUnauthorized, "unauthenticated")

	var after account
	expectJSON(t, apptest.Do(t, http.MethodGet, acc+"/v1/accounts/"+a.ID, nil, bea...), http.StatusOK, &after, accountKeys...)
	if after.Balance != 0 {
		t.Fatalf("refused credits moved money: the balance is %d, want 0", after.Balance)
	}

	t.Log("orders, which declares the accounts gateway, is let in")
	asOrders, err := sys.As("orders", "accounts")
	if err != nil {
		t.Fatal(err)
	}
	credit["amount"] = 1
	apptest.Do(t, http.MethodPost, sys.InternalURL("accounts")+credits, credit, asOrders...).Expect(t, http.StatusOK)

	t.Log("a credit by im with an order's id as its reference does not stop that order's refund")
	shop := shopOn(t, sys)
	sku := "BOUNDARY-" + randomHex(4)
	shop.createProduct(t, sku, "Boundary Book", 500, "")
	shop.receive(t, sku, 5, 5)
	bo := person(t, sys, "bo", identity.Customer)
	buyer := shop.openAccount(t, bo, "Bo Buyer", "USD", 10000)
	o := shop.place(t, bo, buyer.ID, []line{{SKU: sku, Quantity: 2}})
	asIM, err := sys.As("im", "accounts")
	if err != nil {
		t.Fatal(err)
	}
	squat := map[string]any{"account_id": buyer.ID, "amount": 1, "currency": "USD", "reference": o.ID}
	apptest.Do(t, http.MethodPost, sys.InternalURL("accounts")+credits, squat, asIM...).Expect(t, http.StatusOK)
	cancelled := checkOrder(t, shop.cancel(t, bo, o.ID), http.StatusOK, buyer.ID)
	if cancelled.Status != "cancelled" || shop.balance(t, bo, buyer.ID) != 10000+1 {
		t.Fatalf("order %s with balance %d after im took its id as a reference; want cancelled and refunded: %d",
			cancelled.Status, shop.balance(t, bo, buyer.ID), 10000+1)
	}
}
