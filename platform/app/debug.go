package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/uberservice/uberservice/platform/web"
)

// serveDebug serves Go's profiler (/debug/pprof/) on addr until ctx ends. It is
// off unless asked for, and on an address of its own, so that profiles of a
// production process are one flag away but never on a module's public port.
func serveDebug(ctx context.Context, addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usagef("--debug-listen %s: %v", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// The limits of a module's listener, but for writes: a CPU profile or a
	// trace runs for as long as ?seconds= asks before it is written.
	srv := web.Timeouts{Write: 10 * time.Minute}.Server(mux)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("debug server stopped", "addr", addr, "error", err)
		}
	}()
	log.Info("profiler listening", "addr", fmt.Sprintf("http://%s/debug/pprof/", ln.Addr()))
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
