package app_test

import (
	"context"
	"net/http"
	"testing"
	"testing/fstest"
	"time"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/fitness"
)

// A module that declares Fitness serves its own effects in a window on
// GET /ops/effects, to operators only; a window it cannot read is a 422; a
// module that declares none has no such route.
func TestOpsEffects(t *testing.T) {
	t.Parallel()
	made := fstest.MapFS{"0001_made.up.sql": {Data: []byte(`CREATE TABLE made (k text, v text, at timestamptz NOT NULL);
		INSERT INTO made VALUES ('old', '1', now() - interval '2 hours'), ('a', '2', now()), ('b', '3', now());`)}}
	fit := app.Module{Name: "fit", Migrations: made, Init: func(context.Context, *app.Env) error { return nil },
		Fitness: []fitness.Effect{{Name: "made", Query: `SELECT k, v FROM made WHERE at >= $1`}}}
	quiet := app.Module{Name: "quiet", Migrations: schema, Init: func(context.Context, *app.Env) error { return nil }}
	sys := apptest.Start(t, []app.Module{fit, quiet}, app.Config{})
	url := sys.InternalURL("fit") + app.EffectsPath

	var got fitness.Snapshot
	apptest.Do(t, http.MethodGet, url, nil, sys.Operator(t)...).Expect(t, http.StatusOK).Decode(t, &got)
	if got.Module != "fit" || got.Shadow != "" || len(got.Effects) != 1 || len(got.Effects["made"]) != 2 ||
		got.Effects["made"]["a"] != "2" || got.Effects["made"]["b"] != "3" {
		t.Errorf("effects of the last hour = %+v, want a=2 and b=3 of fit", got)
	}
	if d := time.Since(got.Since); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("since %s, want an hour ago by default", got.Since)
	}
	since := time.Now().Add(-3 * time.Hour).UTC().Format(time.RFC3339)
	apptest.Do(t, http.MethodGet, url+"?since="+since, nil, sys.Operator(t)...).Expect(t, http.StatusOK).Decode(t, &got)
	if len(got.Effects["made"]) != 3 {
		t.Errorf("effects since %s = %v, want all three", since, got.Effects)
	}
	for _, bad := range []string{"yesterday", "-1h", "0s"} {
		apptest.Do(t, http.MethodGet, url+"?since="+bad, nil, sys.Operator(t)...).ExpectProblem(t, http.StatusUnprocessableEntity, "validation_failed")
	}
	apptest.Do(t, http.MethodGet, url, nil).ExpectProblem(t, http.StatusUnauthorized, "unauthenticated")
	apptest.Do(t, http.MethodGet, sys.InternalURL("quiet")+app.EffectsPath, nil, sys.Operator(t)...).Expect(t, http.StatusNotFound)
}
