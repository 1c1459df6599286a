package cluster

import (
	"context"
	"time"
)

// TB is what StartTB and FreshNamespace need of a test; *testing.T,
// *testing.B and testing.TB have it. The package names these methods rather
// than testing.TB so that it does not import testing into the programs, such
// as bench, that run clusters outside of tests.
type TB interface {
	Helper()
	Cleanup(func())
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Failed() bool
}

// StartTB is Start for a test, so that every test that runs the binary
// cleans up after it and checks its stop the same way. It fails t at once
// when the cluster does not become ready, and sends what the cluster does to
// t.Logf unless cfg.Logf is set. When t ends, it stops every process still
// running as Shutdown does, and t fails for any that does not exit 0 within
// the StopTimeout of SIGTERM: a graceful stop is part of what the binary
// promises. When t failed, it logs the end of every process's output. Then
// it closes the cluster; what the clean-up could not remove is logged, not a
// failure, as it says nothing of the binary.
func StartTB(t TB, topo Topology, cfg Config) *Cluster {
	t.Helper()
	if cfg.Logf == nil {
		cfg.Logf = t.Logf
	}
	c, err := Start(context.Background(), topo, cfg)
	if err != nil {
		t.Fatalf("%v", err)
		return nil // for a TB whose Fatalf returns
	}
	t.Cleanup(func() {
		if err := c.Shutdown(); err != nil {
			t.Errorf("%v", err)
		}
		if t.Failed() {
			for _, p := range c.Processes() {
				t.Logf("process %s (%d run(s)): %s\n--- output ---\n%s", p.Name(), p.Runs(), p.CommandLine(), tail(p.Logs(), 64<<10))
			}
		}
		_ = c.Close() // its errors go to cfg.Logf
	})
	return c
}

// FreshNamespace is a namespace of t's own on the shared broker of bus,
// prefix-<random hex>, dropped from the broker when t ends, as Close drops
// the one a cluster makes itself. It is for a test that runs the binary in
// a namespace by hand (uberservice migrate --bus-namespace) or shares one
// between clusters (Config.Namespace, which Close leaves in place). The
// catalogue of binary names what to drop on RabbitMQ.
func FreshNamespace(t TB, binary, bus, prefix string) string {
	t.Helper()
	catalogue, err := ReadCatalogue(context.Background(), binary)
	if err != nil {
		t.Fatalf("%v", err)
		return ""
	}
	ns := newNamespace(prefix)
	if err := checkNamespace(ns); err != nil {
		t.Fatalf("%v", err)
		return ""
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := DropNamespace(ctx, bus, ns, catalogue); err != nil {
			t.Logf("%v", err)
		}
	})
	return ns
}
