package web

import (
	"net/http"
	"time"
)

// The limits every module's listener applies to a connection, so that a slow
// or idle client holds a connection (and its goroutine) for a bounded time.
const (
	// ReadHeaderTimeout bounds the request line and headers.
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout bounds the whole request, headers and body, from its first
	// byte: a body sent a byte a second is cut off then, answered 408 when
	// the handler was reading it.
	ReadTimeout = 30 * time.Second
	// WriteTimeout bounds a request from the end of its headers to the end
	// of its response: longer than any handler should take (a saga's calls
	// to its peers with their retries), it is the backstop for one that
	// hangs or a client that stops reading.
	WriteTimeout = 60 * time.Second
	// IdleTimeout bounds a keep-alive connection waiting for its next
	// request. It is longer than the idle timeout of platform/httpclient
	// (90 s), so that a peer drops an idle connection before the server
	// closes it under a request.
	IdleTimeout = 120 * time.Second
	// GoHeaderLimit is Go's own limit on the request line and headers
	// (http.Server.MaxHeaderBytes), above the platform's HeaderLimit: a
	// request past it is answered by Go itself, 431 text/plain.
	GoHeaderLimit = http.DefaultMaxHeaderBytes
)

// Timeouts are a listener's limits (see the constants of the same names). A
// zero field takes the default.
type Timeouts struct {
	ReadHeader time.Duration
	Read       time.Duration
	Write      time.Duration
	Idle       time.Duration
}

// NewServer returns the http.Server that serves handler, a module's Echo, with
// the default timeouts: every module's listener is built here.
func NewServer(handler http.Handler) *http.Server { return Timeouts{}.Server(handler) }

// Server returns the http.Server that serves handler with t's timeouts, HEAD
// as GET (see headAsGet).
func (t Timeouts) Server(handler http.Handler) *http.Server {
	or := func(d, def time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		return def
	}
	return &http.Server{
		Handler:           headAsGet(handler),
		ReadHeaderTimeout: or(t.ReadHeader, ReadHeaderTimeout),
		ReadTimeout:       or(t.Read, ReadTimeout),
		WriteTimeout:      or(t.Write, WriteTimeout),
		IdleTimeout:       or(t.Idle, IdleTimeout),
		MaxHeaderBytes:    GoHeaderLimit,
	}
}
