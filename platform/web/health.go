package web

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// Check is one readiness condition.
type Check struct {
	Name  string
	Check func(ctx context.Context) error
}

// The paths of the probes.
const (
	HealthPath = "/healthz"
	ReadyPath  = "/readyz"
)

// isProbe reports whether c is routed to a probe, or to a scrape of the
// metrics, which comes as often.
func isProbe(c echo.Context) bool {
	return c.Path() == HealthPath || c.Path() == ReadyPath || c.Path() == MetricsPath
}

// MountHealth adds GET /healthz (the process is alive) and GET /readyz (every
// check passes; 503 listing the failures otherwise). Both answer HEAD, and
// are logged at DEBUG. /readyz also says the version and instance of a
// server that Identify named.
func MountHealth(e *echo.Echo, checks func() []Check) {
	e.GET(HealthPath, func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET(ReadyPath, func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		results := map[string]string{}
		ok := true
		for _, ch := range checks() {
			if err := ch.Check(ctx); err != nil {
				ok = false
				results[ch.Name] = err.Error()
			} else {
				results[ch.Name] = "ok"
			}
		}
		if !ok {
			return c.JSON(http.StatusServiceUnavailable, identified(c, map[string]any{"status": "unavailable", "checks": results}))
		}
		return c.JSON(http.StatusOK, identified(c, map[string]any{"status": "ready", "checks": results}))
	})
}
