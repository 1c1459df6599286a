package app

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/uberservice/uberservice/platform/httpclient"
	"github.com/uberservice/uberservice/platform/identity"
	"github.com/uberservice/uberservice/platform/mail"
	"github.com/uberservice/uberservice/platform/messaging"
	"github.com/uberservice/uberservice/platform/peerauth"
	"github.com/uberservice/uberservice/platform/ratelimit"
	"github.com/uberservice/uberservice/platform/tracing/otlp"
)

// Config says which modules to start and how.
type Config struct {
	Modules []string          // names of the modules to start; empty means all
	Listen  map[string]string // module -> listen address; default ":<Port>"
	// InternalListen is module -> the address of its internal API; default
	// ":<InternalPort>".
	InternalListen map[string]string
	DatabaseURL    string            // shared by every module unless overridden
	ModuleURLs     map[string]string // module -> its own database URL
	Peers          map[string]string // module -> base URL of a peer running elsewhere
	Migrate        bool              // apply migrations at start-up
	Mail           mail.Sender       // nil: a Recorder
	// BusURL names the bus to open (see messaging.Open): "" or "gochannel" is
	// in-process, and start-up refuses any configuration whose events would
	// have to leave the process on it.
	BusURL string
	// BusNamespace prefixes every topic and consumer group on the bus.
	BusNamespace string
	// Bus, when not nil, is used instead of BusURL and not closed by Stop.
	// The caller vouches that it reaches every consumer, and that events it
	// carries come from wherever the consumers expect them: a test plays a
	// producer on it, or shares one bus between two systems.
	Bus    messaging.Bus
	Retry  messaging.RetryPolicy
	Client httpclient.Options
	// Keys are the deployment's keys (package peerauth): the private keys
	// of the modules started here, to call gateways across processes with,
	// and every public key, to verify callers and operators with. Without
	// them, the internal API lets nobody in.
	Keys *peerauth.KeySet
	// Identity is the issuer of the tokens of the people who call the
	// public API (package identity): Start builds its verifier, Env.People,
	// and fails when the issuer or its keys cannot be reached. With no
	// Issuer, the modules get no verifier.
	Identity identity.Config
	// RateLimit bounds how fast one person may use a module's public API;
	// its zero value sets no bound.
	RateLimit ratelimit.Config
	PoolSize  int
	// Shadow, when set, runs every module started as a shadow of that name
	// (see shadow.go): beside the live module, seen by nobody.
	Shadow string
	// ShadowPeers are shadows running elsewhere, for the console to compare
	// with the live modules (--shadow-peer; Env.ShadowPeers).
	ShadowPeers []ShadowPeer
	// TraceUI is the base URL of the trace backend's query API (Jaeger's),
	// for the operator's views that look a trace up (Env.TraceUI).
	TraceUI string
	// Traces says where the modules' traces go (--otlp-endpoint, or the
	// OTEL_EXPORTER_OTLP_* environment); nowhere, by default.
	Traces otlp.Config
	// NoMetrics turns off the recording of requests, gateway calls and
	// events for the whole process (--metrics=false; metrics.SetRecording).
	NoMetrics bool
	Log       *slog.Logger
	// ShutdownTimeout bounds a graceful stop; default 20s.
	ShutdownTimeout time.Duration
}

// UsageError is a configuration that cannot work, found before anything started.
type UsageError struct{ msg string }

func (e *UsageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &UsageError{fmt.Sprintf(format, args...)} }
