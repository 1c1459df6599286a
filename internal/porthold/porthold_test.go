package porthold_test

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/uberservice/uberservice/internal/porthold"
)

// A held port refuses connections, even with the connections its server
// closed still in TIME_WAIT; once released, a listener takes it again.
func TestClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close() // the server closes first: its end waits out TIME_WAIT
		}
	}()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read from a connection the server closed: no error")
	}
	c.Close()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := porthold.Closed(addr)
	if err != nil {
		t.Fatalf("hold %s: %v", addr, err)
	}
	t.Cleanup(func() { _ = p.Release() })

	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatalf("dial %s while held: connected, want refused", addr)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial %s while held: %v, want connection refused", addr, err)
	}

	if err := p.Release(); err != nil {
		t.Fatal(err)
	}
	if err := p.Release(); err != nil {
		t.Fatalf("second release: %v", err)
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s once released: %v", addr, err)
	}
	ln.Close()
}
