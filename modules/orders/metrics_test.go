package orders_test

import (
	"net/http"
	"strings"
	"testing"

	ordersgw "github.com/uberservice/uberservice/gateway/orders"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/failpoint"
)

// The orders' /metrics says how many sagas wait at each step, and how many
// the recovery resumed.
//
// Not parallel: it arms a failpoint for the whole test process.
func TestSagaMetrics(t *testing.T) {
	w := start(t, app.Config{})
	sku := w.newProduct(t, 500, "USD", 10)
	acc := w.newAccount(t, "USD", 10_000)
	disable := failpoint.Enable("orders.saga.after_reserve_saved", "abandon")
	w.place(t, acc, []line{{sku, 1}}).Expect(t, http.StatusCreated)
	disable()

	body := string(apptest.Do(t, http.MethodGet, w.InternalURL(ordersgw.Name)+app.MetricsPath, nil).Expect(t, http.StatusOK).Body)
	for _, want := range []string{
		`uberservice_saga_states{module="orders",saga="order",state="debiting"} 1`,
		`uberservice_saga_states{module="orders",saga="order",state="reserving"} 0`,
		`uberservice_saga_states{module="orders",saga="order",state="cancelling"} 0`,
		`uberservice_saga_recoveries_total{module="orders",saga="order"} `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
