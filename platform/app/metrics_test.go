package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/metrics"
)

// Every module's internal server serves the system's metrics on /metrics,
// with no token: its tables, its requests and what the module declared;
// the public server does not.
func TestEveryInternalServerServesTheMetrics(t *testing.T) {
	t.Parallel()
	declaring := app.Module{Name: "gauged", Migrations: schema, Init: func(_ context.Context, env *app.Env) error {
		c, err := env.Counter("widgets_total", "Widgets made.", "kind")
		if err != nil {
			return err
		}
		c.Add(2, "round")
		return env.Gauge("widgets", "Widgets in stock.", []string{"kind"}, func(context.Context) ([]metrics.Sample, error) {
			return []metrics.Sample{{Labels: []string{"round"}, Value: 7}}, nil
		})
	}}
	plain := app.Module{Name: "plain", Init: func(context.Context, *app.Env) error { return nil }}
	sys := apptest.Start(t, []app.Module{declaring, plain}, app.Config{})

	apptest.Do(t, http.MethodGet, sys.InternalURL("gauged")+"/healthz", nil).Expect(t, http.StatusOK)
	for _, module := range []string{"gauged", "plain"} {
		body := string(apptest.Do(t, http.MethodGet, sys.InternalURL(module)+app.MetricsPath, nil).Expect(t, http.StatusOK).Body)
		for _, want := range []string{
			`uberservice_outbox_pending{module="gauged"} 0`,
			`uberservice_widgets_total{kind="round",module="gauged"} 2`,
			`uberservice_widgets{kind="round",module="gauged"} 7`,
			`uberservice_http_requests_total{api="internal",code="200",method="GET",module="gauged",route="/healthz"}`,
			`go_sql_open_connections{db_name="gauged"}`,
			`uberservice_build_info{`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("%s's /metrics lacks %s", module, want)
			}
		}
		if strings.Contains(body, `db_name="plain"`) {
			t.Errorf("%s's /metrics has a pool for plain, which keeps no data", module)
		}
	}
	apptest.Do(t, http.MethodGet, sys.URL("gauged")+app.MetricsPath, nil).Expect(t, http.StatusNotFound)
}
