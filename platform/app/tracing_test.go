package app_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"github.com/uberservice/uberservice/platform/app"
	"github.com/uberservice/uberservice/platform/apptest"
	"github.com/uberservice/uberservice/platform/tracing"
	"github.com/uberservice/uberservice/platform/tracing/otlp"
)

// tracedWorld is a pinger and a caller whose public route /relay/:id pings
// it.
func tracedWorld() []app.Module {
	provider := app.Module{Name: "pinger", Init: func(_ context.Context, env *app.Env) error {
		app.Provide(env, pingGateway, pinger(pingService{}))
		return nil
	}}
	caller := app.Module{Name: "caller", Uses: app.Deps(pingGateway), Init: func(_ context.Context, env *app.Env) error {
		p, err := app.Resolve(env, pingGateway)
		if err != nil {
			return err
		}
		env.HTTP.GET("/relay/:id", func(c echo.Context) error {
			if _, err := p.Ping(c.Request().Context(), uuid.New()); err != nil {
				return err
			}
			return c.NoContent(http.StatusNoContent)
		})
		return nil
	}}
	return []app.Module{provider, caller}
}

// recorded is a span as the test looks at it: its service and its parent.
type recorded struct {
	service string
	stub    tracetest.SpanStub
}

func recordedSpans(exp *tracetest.InMemoryExporter) map[string]recorded {
	out := map[string]recorded{}
	for _, s := range exp.GetSpans() {
		service, _ := s.Resource.Set().Value(semconv.ServiceNameKey)
		out[s.Name] = recorded{service: service.AsString(), stub: s}
	}
	return out
}

// A request's trace goes through both modules, in one process and across
// two, and each module's spans are its own service's.
func TestARequestIsOneTraceAcrossModules(t *testing.T) {
	t.Setenv("OTEL_SERVICE_NAME", "")
	const caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	check := func(t *testing.T, exp *tracetest.InMemoryExporter, url string, across bool) {
		t.Helper()
		apptest.Do(t, http.MethodGet, url+"/relay/1", nil, tracing.MetadataKey, caller).Expect(t, http.StatusNoContent)
		spans := recordedSpans(exp)
		served, call := spans["GET /relay/:id"], spans["pinger.Ping"]
		if served.service != "caller" || served.stub.Parent.SpanID().String() != caller[36:52] {
			t.Fatalf("the request's span is %q's, child of %v: want caller's, child of the caller's", served.service, served.stub.Parent.SpanID())
		}
		if call.service != "caller" || call.stub.Parent.SpanID() != served.stub.SpanContext.SpanID() {
			t.Fatalf("the gateway call's span is %q's, child of %v: want caller's, child of the request", call.service, call.stub.Parent.SpanID())
		}
		if !across {
			served := spans["GET /gateway/pinger/v1/pings/{id}"]
			if served.service != "pinger" || served.stub.Parent.SpanID() != call.stub.SpanContext.SpanID() {
				t.Fatalf("the pinger's side of the local call is %q's, child of %v: want pinger's, child of the call", served.service, served.stub.Parent.SpanID())
			}
			return
		}
		pinged := spans["GET /gateway/pinger/v1/pings/:id"]
		if pinged.service != "pinger" || pinged.stub.SpanContext.TraceID() != call.stub.SpanContext.TraceID() {
			t.Fatalf("the pinger's span is %q's in trace %v: want pinger's, in the request's trace", pinged.service, pinged.stub.SpanContext.TraceID())
		}
		var attempt *tracetest.SpanStub
		for _, s := range exp.GetSpans() {
			if s.SpanContext.SpanID() == pinged.stub.Parent.SpanID() {
				attempt = &s
			}
		}
		if attempt == nil || attempt.Parent.SpanID() != call.stub.SpanContext.SpanID() {
			t.Fatalf("the pinger's span's parent is %v, want an HTTP attempt of the gateway call", pinged.stub.Parent.SpanID())
		}
	}
	t.Run("one process", func(t *testing.T) {
		exp := tracetest.NewInMemoryExporter()
		sys := apptest.Start(t, tracedWorld(), app.Config{Traces: otlp.Config{Exporter: exp}})
		check(t, exp, sys.URL("caller"), false)
	})
	t.Run("two processes", func(t *testing.T) {
		exp := tracetest.NewInMemoryExporter()
		all := tracedWorld()
		sys := apptest.Start(t, all, app.Config{Modules: []string{"pinger"}, Traces: otlp.Config{Exporter: exp}})
		callers := apptest.Start(t, all, app.Config{Modules: []string{"caller"}, Traces: otlp.Config{Exporter: exp},
			Peers: map[string]string{"pinger": sys.InternalURL("pinger")}})
		check(t, exp, callers.URL("caller"), true)
	})
}
