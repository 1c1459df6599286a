package idempotency_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/uberservice/uberservice/platform/idempotency"
	"github.com/uberservice/uberservice/platform/web"
)

// A request that may change something is refused for an Idempotency-Key the
// platform would not keep, whether its route takes keys or not; a read is not.
func TestCheckKeysRefusesAnUnusableKeyOnEveryRouteThatChangesSomething(t *testing.T) {
	e := web.New("test", slog.New(slog.DiscardHandler))
	e.Use(idempotency.CheckKeys)
	ok := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
	e.POST("/things", ok)
	e.GET("/things", ok)
	for _, key := range []string{"", "k\xe9y", "two words", strings.Repeat("k", idempotency.MaxKeyLength+1)} {
		for method, want := range map[string]int{http.MethodPost: http.StatusBadRequest, http.MethodGet: http.StatusNoContent} {
			req := httptest.NewRequest(method, "/things", nil)
			req.Header[idempotency.Header] = []string{key}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != want || (want == 400 && !strings.Contains(rec.Body.String(), `"idempotency_key_invalid"`)) {
				t.Errorf("%s with Idempotency-Key %q: %d %s, want %d", method, key, rec.Code, rec.Body, want)
			}
		}
	}
	req := httptest.NewRequest(http.MethodPost, "/things", nil)
	req.Header.Set(idempotency.Header, "order-42")
	rec := httptest.NewRecorder()
	if e.ServeHTTP(rec, req); rec.Code != http.StatusNoContent {
		t.Errorf("POST with a good key: %d %s", rec.Code, rec.Body)
	}
}
