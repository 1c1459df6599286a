//go:build unix

// Package porthold keeps a TCP port of a stopped server closed, and its own,
// until the server starts on it again.
//
// A test that stops a server to play an outage, then starts it again on the
// same address, leaves that port free meanwhile: any listener of a parallel
// test asking for port 0, or any outgoing connection, may be given it, and
// the restart then fails to bind, or the peers of the stopped server reach
// someone else's. A port held here is bound, so the kernel gives it to no
// listener asking for port 0 and to no outgoing connection, but not
// listening, so a connection to it is refused, as it is to a server that is
// down.
package porthold

import (
	"fmt"
	"net/netip"
	"sync"
	"syscall"
)

// Port is a TCP port held closed. Release it right before starting the
// server on it again.
type Port struct {
	addr netip.AddrPort
	once sync.Once
	fd   int
}

// Closed holds addr, an IP address and port no socket is bound to, closed.
func Closed(addr string) (*Port, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, fmt.Errorf("porthold: %w", err)
	}
	family, sa := syscall.AF_INET6, syscall.Sockaddr(&syscall.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()})
	if ap.Addr().Is4() {
		family, sa = syscall.AF_INET, &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM, 0)
	if err != nil {
		return nil, fmt.Errorf("porthold: socket for %s: %w", addr, err)
	}
	syscall.CloseOnExec(fd)
	// As Go's listeners do, so that the connections the stopped server
	// closed, waiting out TIME_WAIT on the port, do not keep it from being
	// held. A listener binding the port by number still can; a choice of
	// the kernel's cannot.
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("porthold: SO_REUSEADDR for %s: %w", addr, err)
	}
	if err := syscall.Bind(fd, sa); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("porthold: bind %s: %w", addr, err)
	}
	return &Port{addr: ap, fd: fd}, nil
}

// Release frees the port. Releasing it again does nothing.
func (p *Port) Release() error {
	var err error
	p.once.Do(func() {
		if cerr := syscall.Close(p.fd); cerr != nil {
			err = fmt.Errorf("porthold: release %s: %w", p.addr, cerr)
		}
	})
	return err
}
