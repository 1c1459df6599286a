package apptest

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/uberservice/uberservice/platform/identity"
)

// Access is who may make one request of a module's public API: the rule of
// its route, as RefusesStrangers holds the module to it.
type Access struct {
	// Method and URL are the request, absolute, with the ids of a resource
	// that Owner may touch (theirs, or any for staff); Body is its JSON
	// body, "" for none.
	Method, URL, Body string
	// Roles are the roles the route admits: a person with none of them is
	// refused 403, whatever they name.
	Roles []identity.Role
	// Owner is the Authorization header of a person the route admits on URL.
	Owner []string
	// Foreign, when set, is URL naming a resource of someone else, of the
	// same kind: Owner gets 404 for it, as if it did not exist.
	Foreign string
}

// RefusesStrangers holds every /v1 route of module to its rule: with no
// token, 401 with a Bearer challenge; as a person of each role the route does
// not admit, 403; as Owner on someone else's resource, 404; as Owner on URL,
// neither of those (nor a 5xx). Every /v1 route must have a rule, so that a
// route added later with none fails the test that lists the others; a rule
// that matches no route fails it too.
func (s *System) RefusesStrangers(t *testing.T, module string, rules ...Access) {
	t.Helper()
	used := make([]bool, len(rules))
	for _, r := range s.Routes(module) {
		if !strings.HasPrefix(r.Path, "/v1/") {
			continue
		}
		pattern := regexp.MustCompile("^" + regexp.MustCompile(`:[^/]+`).ReplaceAllString(regexp.QuoteMeta(r.Path), `[^/]+`) + "$")
		covered := false
		for i, a := range rules {
			path, _, _ := strings.Cut(pathOf(a.URL), "?")
			if a.Method == r.Method && pattern.MatchString(path) {
				covered, used[i] = true, true
			}
		}
		if !covered {
			t.Errorf("apptest: %s %s of %s has no access rule: give RefusesStrangers one", r.Method, r.Path, module)
		}
	}
	for i, a := range rules {
		if !used[i] {
			t.Errorf("apptest: the access rule of %s %s matches no /v1 route of %s", a.Method, a.URL, module)
			continue
		}
		t.Run(fmt.Sprintf("%s %s", a.Method, pathOf(a.URL)), func(t *testing.T) { s.holdsTo(t, a) })
	}
}

func (s *System) holdsTo(t *testing.T, a Access) {
	send := func(url string, header []string) Response {
		var body any
		if a.Body != "" {
			body = a.Body
		}
		return Do(t, a.Method, url, body, header...)
	}
	res := send(a.URL, nil)
	res.ExpectProblem(t, http.StatusUnauthorized, "unauthenticated")
	if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("no token: WWW-Authenticate %q, want a Bearer challenge", res.Header.Get("WWW-Authenticate"))
	}
	for _, role := range identity.Roles() {
		if slices.Contains(a.Roles, role) {
			continue
		}
		send(a.URL, s.Person(t, "stranger-"+string(role), role)).ExpectProblem(t, http.StatusForbidden, "forbidden")
	}
	send(a.URL, s.Person(t, "nobody")).ExpectProblem(t, http.StatusForbidden, "forbidden")
	if a.Foreign != "" {
		send(a.Foreign, a.Owner).ExpectProblem(t, http.StatusNotFound, "")
	}
	if got := send(a.URL, a.Owner); got.Status == http.StatusUnauthorized || got.Status == http.StatusForbidden ||
		got.Status == http.StatusNotFound || got.Status >= 500 {
		t.Errorf("the owner: %d: %s", got.Status, got.Body)
	}
}
