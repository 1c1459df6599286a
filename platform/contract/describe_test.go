package contract_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/platform/contract"
)

type store interface {
	Get(ctx context.Context, id uuid.UUID) (string, error)
	Put(ctx context.Context, v string) (string, error)
	Drop(ctx context.Context, id uuid.UUID) error
}

// A gateway's table describes its methods as declared: name, route and
// when a call may be sent again.
func TestMethodsDescribeTheTable(t *testing.T) {
	g := contract.New("store", func(contract.Caller) store { return nil },
		contract.Method("Get", store.Get, "GET /gateway/store/v1/items/{id}").Idempotent(),
		contract.Method("Put", store.Put, "POST /gateway/store/v1/items").IdempotentIf(func(v string) bool { return v != "" }),
		contract.Action("Drop", store.Drop, "DELETE /gateway/store/v1/items/{id}"))
	want := []contract.Description{
		{Name: "Get", Route: "GET /gateway/store/v1/items/{id}", Retry: contract.RetryAlways},
		{Name: "Put", Route: "POST /gateway/store/v1/items", Retry: contract.RetryIfInput},
		{Name: "Drop", Route: "DELETE /gateway/store/v1/items/{id}", Retry: contract.RetryNever},
	}
	if got := g.Methods(); !slices.Equal(got, want) {
		t.Errorf("Methods() =\n %+v, want\n %+v", got, want)
	}
}
