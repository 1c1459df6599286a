package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/metrics"
)

// MetricsPath is where a module's internal server serves the metrics (see
// package app); its requests are logged at DEBUG, like the probes'.
const MetricsPath = "/metrics"

// Unmatched is the route label of a request that matched no route: the
// path it asked for is not a label, or anyone could make series at will.
const Unmatched = "unmatched"

// Metrics records every request to module's api ("public" or "internal") in
// uberservice_http_requests_total and _duration_seconds, by route template
// (c.Path(), so /v1/accounts/:id, never an id) and with the status the client
// gets. It goes right after New's own middleware, so that it sees the
// requests every later middleware refuses (401, 429) and the errors of the
// handler, which it writes to find their status. /metrics itself is recorded
// like any route: a scrape is a request too.
func Metrics(module, api string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			if !metrics.Recording() {
				return next(c)
			}
			start := time.Now()
			panicked := true
			defer func() {
				route := c.Path()
				if route == "" || errors.Is(err, echo.ErrNotFound) {
					route = Unmatched
				}
				status := c.Response().Status
				if panicked { // the recoverer outside answers 500
					status = http.StatusInternalServerError
				}
				m := method(c.Request())
				metrics.HTTPRequests.WithLabelValues(module, api, m, route, strconv.Itoa(status)).Inc()
				metrics.HTTPDuration.WithLabelValues(module, api, m, route).Observe(time.Since(start).Seconds())
			}()
			err = next(c)
			panicked = false
			if err != nil {
				c.Error(err) // the status is the error handler's; the handlers outside see it written
			}
			return err
		}
	}
}
