package web_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/uberservice/uberservice/platform/metrics"
	"github.com/uberservice/uberservice/platform/problem"
	"github.com/uberservice/uberservice/platform/web"
)

// Requests are counted by route template and the status the client got:
// a handler's problem with its status, a panic as 500, a path no route
// matches as "unmatched", never as the path asked for.
func TestMetricsCountRequestsByRouteAndStatus(t *testing.T) {
	e := web.New("metered", slog.New(slog.DiscardHandler))
	e.Use(web.Metrics("metered", "public"))
	e.GET("/v1/things/:id", func(c echo.Context) error { return c.JSON(http.StatusOK, c.Param("id")) })
	e.POST("/v1/things", func(echo.Context) error { return problem.ErrConflict.WithDetail("taken") })
	e.GET("/v1/boom", func(echo.Context) error { panic("boom") })
	h := web.NewServer(e).Handler
	for _, r := range []struct{ method, path string }{
		{"GET", "/v1/things/1"}, {"GET", "/v1/things/2"}, {"HEAD", "/v1/things/3"},
		{"POST", "/v1/things"}, {"GET", "/v1/boom"}, {"GET", "/v1/nothing/here"}, {"DELETE", "/v1/things/1"},
	} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(r.method, r.path, nil))
	}
	for _, want := range []struct {
		method, route, code string
		n                   float64
	}{
		{"GET", "/v1/things/:id", "200", 2},
		{"HEAD", "/v1/things/:id", "200", 1},
		{"POST", "/v1/things", "409", 1},
		{"GET", "/v1/boom", "500", 1},
		{"GET", web.Unmatched, "404", 1},
		{"DELETE", "/v1/things/:id", "405", 1},
	} {
		got := testutil.ToFloat64(metrics.HTTPRequests.WithLabelValues("metered", "public", want.method, want.route, want.code))
		if got != want.n {
			t.Errorf("%s %s %s counted %v times, want %v", want.method, want.route, want.code, got, want.n)
		}
	}
	if n := testutil.CollectAndCount(metrics.HTTPRequests); n == 0 {
		t.Error("no series at all")
	}
	var series int
	for _, route := range []string{"/v1/things/:id", "/v1/things", "/v1/boom", web.Unmatched} {
		for _, m := range []string{"GET", "HEAD", "POST", "DELETE"} {
			if histogramCount(t, "metered", m, route) > 0 {
				series++
			}
		}
	}
	if series != 6 {
		t.Errorf("%d duration series observed, want 6", series)
	}
}

func histogramCount(t *testing.T, module, method, route string) uint64 {
	t.Helper()
	var m dto.Metric
	if err := metrics.HTTPDuration.WithLabelValues(module, "public", method, route).(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetHistogram().GetSampleCount()
}
