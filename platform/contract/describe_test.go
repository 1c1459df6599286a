package contract_test

import (
	"context"
	"reflect"
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

// A gateway's table describes its methods as declared: name, route, when a
// call may be sent again, and what crosses the wire each way.
func TestMethodsDescribeTheTable(t *testing.T) {
	g := contract.New("store", func(contract.Caller) store { return nil },
		contract.Method("Get", store.Get, "GET /gateway/store/v1/items/{id}").Idempotent(),
		contract.Method("Put", store.Put, "POST /gateway/store/v1/items").IdempotentIf(func(v string) bool { return v != "" }),
		contract.Action("Drop", store.Drop, "DELETE /gateway/store/v1/items/{id}"))
	id, text, none := reflect.TypeFor[uuid.UUID](), reflect.TypeFor[string](), reflect.TypeFor[struct{}]()
	want := []contract.Description{
		{Name: "Get", Route: "GET /gateway/store/v1/items/{id}", Retry: contract.RetryAlways, In: id, Out: text, Param: "id"},
		{Name: "Put", Route: "POST /gateway/store/v1/items", Retry: contract.RetryIfInput, In: text, Out: text},
		{Name: "Drop", Route: "DELETE /gateway/store/v1/items/{id}", Retry: contract.RetryNever, In: id, Out: none, Param: "id", NoContent: true},
	}
	if got := g.Methods(); !slices.Equal(got, want) {
		t.Errorf("Methods() =\n %+v, want\n %+v", got, want)
	}
}
