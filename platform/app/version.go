package app

import (
	"log/slog"

	"github.com/uberservice/uberservice/platform/build"
	"github.com/uberservice/uberservice/platform/web"
)

// Every instance knows its version: the binary's (package build) and the
// process's instance id, the one its metrics (uberservice_build_info) and
// traces (service.instance.id) carry, are also on every log line, every
// response and every event it writes, so that with two versions of a module
// side by side what either did can be told apart.

// identifiedLog is log with the version and instance on every line.
func identifiedLog(log *slog.Logger, instance string) *slog.Logger {
	return log.With("version", build.Version(), "instance", instance)
}

// identify names the instance on env's servers (the Uberservice-Instance
// header, /readyz's body) and on the events its outbox writes.
func (s *System) identify(env *Env) {
	id := web.Identity{Module: env.Module.Name, Version: build.Version(), Instance: s.instance}
	web.Identify(env.HTTP, id)
	web.Identify(env.Internal, id)
	if env.Outbox != nil {
		env.Outbox.SetInstance(s.instance)
	}
}
