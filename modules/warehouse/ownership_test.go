package warehouse_test

import (
	"errors"
	"testing"

	"github.com/google/uuid"

	gateway "github.com/uberservice/uberservice/gateway/warehouse"
)

// A reservation is the module's that made it: another module can neither
// release it nor reserve under its order id, and its maker still can.
func TestAReservationBelongsToTheModuleThatMadeIt(t *testing.T) {
	w := start(t)
	sku := w.newProduct(t, 100, "USD", 10)
	impl := w.local(t)
	as := func(module string) gateway.Warehouse { return gateway.Gateway.Local(impl, module) }
	req := gateway.ReserveRequest{OrderID: uuid.New(), Lines: []gateway.Line{{SKU: sku, Quantity: 3}}}
	if _, err := as("orders").Reserve(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if err := as("im").Release(t.Context(), req.OrderID); err != nil {
		t.Fatalf("another module's release: %v, want nothing done and no error", err)
	}
	if onHand, reserved := w.stock(t, sku); onHand != 10 || reserved != 3 {
		t.Fatalf("after another module's release: %d on hand, %d reserved; want 10, 3", onHand, reserved)
	}
	if _, err := as("im").Reserve(t.Context(), req); !errors.Is(err, gateway.ErrReservationConflict) {
		t.Fatalf("another module reserving under the order's id: %v, want reservation_conflict", err)
	}
	if err := as("orders").Release(t.Context(), req.OrderID); err != nil {
		t.Fatal(err)
	}
	if onHand, reserved := w.stock(t, sku); onHand != 10 || reserved != 0 {
		t.Fatalf("after its maker's release: %d on hand, %d reserved; want 10, 0", onHand, reserved)
	}
}
