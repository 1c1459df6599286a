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

// MountHealth adds GET /healthz (the process is alive) and GET /readyz (every
// check passes; 503 listing the failures otherwise).
func MountHealth(e *echo.Echo, checks func() []Check) {
	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	e.GET("/readyz", func(c echo.Context) error {
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
			return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "checks": results})
		}
		return c.JSON(http.StatusOK, map[string]any{"status": "ready", "checks": results})
	})
}
