package console_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/uberservice/uberservice/modules/console"
	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
)

// TestConsoleInAProcess starts the console as the runtime does: it finds
// itself here, at its internal listener, admits an operator's token and no
// module's.
func TestConsoleInAProcess(t *testing.T) {
	t.Parallel()
	sys := apptest.Start(t, []app.Module{console.Module()}, app.Config{})
	page := sys.URL(console.Name) + "/"
	res := apptest.Do(t, "GET", page, nil, sys.Operator(t)...).Expect(t, http.StatusOK)
	for _, want := range []string{
		`<tr data-module="console" class="ready">`, "<td>here</td>", "<code>" + sys.InternalAddr(console.Name) + "</code>",
	} {
		if !strings.Contains(string(res.Body), want) {
			t.Errorf("the dashboard lacks %s:\n%s", want, res.Body)
		}
	}
	// A module's token is no operator's: the page asks for one.
	module := apptest.Do(t, "GET", page, nil, sys.As(t, apptest.Harness, console.Name)...).Expect(t, http.StatusOK)
	if !strings.Contains(string(module.Body), `name="token"`) {
		t.Errorf("a module's token was let in:\n%s", module.Body)
	}
	apptest.Do(t, "POST", sys.URL(console.Name)+"/dead-letters/console/1/replay", nil,
		append(sys.Operator(t), "X-Console-Request", "replay")...).ExpectProblem(t, http.StatusNotFound, "not_found")
}

// TestPublicAPIRefusesBadInput: the console has no /v1 route, and the suite
// holds it to that.
func TestPublicAPIRefusesBadInput(t *testing.T) {
	t.Parallel()
	sys := apptest.Start(t, []app.Module{console.Module()}, app.Config{})
	sys.RefusesBadInput(t, console.Name)
}
