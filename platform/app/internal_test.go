package app_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
)

type pingService struct{}

func (pingService) Ping(_ context.Context, id uuid.UUID) (pong, error) { return pong{ID: id}, nil }

// A module's gateway binding and ops routes are served on its internal port
// alone: the public port answers them 404, as any route it does not have.
// Both answer the health probes. A peer's URL names the internal port, and a
// call across it works.
func TestGatewayAndOpsRoutesAreInternalOnly(t *testing.T) {
	t.Parallel()
	provider := app.Module{Name: "pinger", Migrations: schema, Init: func(_ context.Context, env *app.Env) error {
		app.Provide(env, pingGateway, pinger(pingService{}))
		return nil
	}}
	sys := apptest.Start(t, []app.Module{provider}, app.Config{})
	id := uuid.New()
	for _, path := range []string{"/gateway/pinger/v1/pings/" + id.String(), "/ops/dead-letters"} {
		apptest.Do(t, http.MethodGet, sys.URL("pinger")+path, nil).ExpectProblem(t, http.StatusNotFound, "not_found")
		apptest.Do(t, http.MethodGet, sys.InternalURL("pinger")+path, nil).Expect(t, http.StatusOK)
	}
	for _, base := range []string{sys.URL("pinger"), sys.InternalURL("pinger")} {
		apptest.Do(t, http.MethodGet, base+"/healthz", nil).Expect(t, http.StatusOK)
		apptest.Do(t, http.MethodGet, base+"/readyz", nil).Expect(t, http.StatusOK)
	}

	var got pinger
	caller := app.Module{Name: "caller", Uses: app.Deps(pingGateway), Init: func(_ context.Context, env *app.Env) (err error) {
		got, err = app.Resolve(env, pingGateway)
		return err
	}}
	apptest.Start(t, []app.Module{caller, provider}, app.Config{Modules: []string{"caller"},
		Peers: map[string]string{"pinger": sys.InternalURL("pinger")}})
	if p, err := got.Ping(t.Context(), id); err != nil || p.ID != id {
		t.Fatalf("a call across the internal port: %v, %v", p, err)
	}
}
