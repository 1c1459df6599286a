package app_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
)

// A module's counts of what waits for an operator are served on
// GET /ops/counts under its name; a count that cannot be taken is a 500 that
// says nothing of why; a module that declares no counts has no such route.
func TestOpsCounts(t *testing.T) {
	t.Parallel()
	fail := errors.New("count: relation \"secret_table\" does not exist")
	counting := func(name string, counts map[string]int64, err error) app.Module {
		return app.Module{Name: name, Migrations: schema, Init: func(_ context.Context, env *app.Env) error {
			env.OpsCounts(func(context.Context) (map[string]int64, error) { return counts, err })
			return nil
		}}
	}
	quiet := app.Module{Name: "quiet", Migrations: schema, Init: func(context.Context, *app.Env) error { return nil }}
	sys := apptest.Start(t, []app.Module{
		counting("alpha", map[string]int64{"stuck": 2, "retrying": 0}, nil),
		counting("beta", nil, fail),
		quiet,
	}, app.Config{})

	var got map[string]map[string]int64
	apptest.Do(t, http.MethodGet, sys.InternalURL("alpha")+"/ops/counts", nil, sys.Operator(t)...).Expect(t, http.StatusOK).Decode(t, &got)
	if len(got) != 1 || len(got["alpha"]) != 2 || got["alpha"]["stuck"] != 2 || got["alpha"]["retrying"] != 0 {
		t.Errorf("alpha's counts = %v, want {alpha: {stuck: 2, retrying: 0}}", got)
	}
	r := apptest.Do(t, http.MethodGet, sys.InternalURL("beta")+"/ops/counts", nil, sys.Operator(t)...)
	r.ExpectProblem(t, http.StatusInternalServerError, "internal")
	if strings.Contains(string(r.Body), "secret_table") {
		t.Errorf("a failed count leaks its cause: %s", r.Body)
	}
	apptest.Do(t, http.MethodGet, sys.InternalURL("quiet")+"/ops/counts", nil, sys.Operator(t)...).Expect(t, http.StatusNotFound)
}

// The dead letters are a list like any other: paged newest first, with
// nothing skipped or shown twice while new ones arrive, and bad paging
// refused.
func TestDeadLettersArePaged(t *testing.T) {
	t.Parallel()
	sys, _ := pingWorld(t)
	db := sys.Schema(t, "pinger")
	add := func(t testing.TB) string {
		t.Helper()
		var id int64
		if err := db.Raw(`INSERT INTO dead_letters (message_id, handler, topic, payload, status, attempts, last_error)
			VALUES (?, 'pinger.test', 'test.pinged.v1', ?, 'dead', 1, 'failed') RETURNING id`,
			uuid.NewString(), []byte("{}")).Row().Scan(&id); err != nil {
			t.Fatalf("add a dead letter: %v", err)
		}
		return strconv.FormatInt(id, 10)
	}
	var want []string
	for range 7 {
		want = append([]string{add(t)}, want...)
	}
	apptest.ExpectPaged(t, apptest.List{URL: sys.InternalURL("pinger") + "/ops/dead-letters", Header: sys.Operator(t), Want: want, Add: add})
	if got := sys.DeadLetters(t, "pinger"); len(got) != len(want)+3 {
		t.Errorf("%d dead letters read to the end, want the %d made and the 3 added between pages", len(got), len(want))
	}
}
