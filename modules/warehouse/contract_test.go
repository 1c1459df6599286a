package warehouse_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/google/uuid"

	gateway "github.com/uberservice/uberservice/gateway/warehouse"
	"github.com/uberservice/uberservice/gateway/warehouse/contracttest"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/httpclient"
)

// TestContract holds the local implementation and the HTTP client, talking to
// the module's real server binding, to the same suite.
func TestContract(t *testing.T) {
	t.Parallel()
	w := start(t)
	local := w.local(t)
	remote := apptest.Remote(w.System, gateway.Gateway, httpclient.Options{})

	apptest.EachImplementation(t, w.System, gateway.Gateway, func(t *testing.T, impl gateway.Warehouse) {
		contracttest.Run(t, func(*testing.T) contracttest.Subject {
			return contracttest.Subject{
				Warehouse:  impl,
				NewProduct: w.newProduct,
				Stock:      w.stock,
				Dispatch:   w.dispatchOrder,
			}
		})
	})

	t.Run("local and http give identical answers", func(t *testing.T) {
		a := w.newProduct(t, 1250, "EUR", 10)
		req := gateway.ReserveRequest{OrderID: uuid.New(), Lines: []gateway.Line{{SKU: a, Quantity: 2}}}
		lr, lerr := local.Reserve(t.Context(), req)
		rr, rerr := remote.Reserve(t.Context(), req)
		if lerr != nil || rerr != nil || !reflect.DeepEqual(lr, rr) {
			t.Errorf("Reserve: local %+v %v, http %+v %v", lr, lerr, rr, rerr)
		}
		req.Lines[0].Quantity = 3
		_, lerr = local.Reserve(t.Context(), req)
		_, rerr = remote.Reserve(t.Context(), req)
		if !errors.Is(lerr, gateway.ErrReservationConflict) || !errors.Is(rerr, gateway.ErrReservationConflict) {
			t.Errorf("Reserve of other lines: local %v, http %v", lerr, rerr)
		}
	})
}
