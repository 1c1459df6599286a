package mail_test

import (
	"bufio"
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/uberservice/uberservice/platform/mail"
)

// smtpServer speaks just enough SMTP to accept one message, and hands over
// what it received.
func smtpServer(t *testing.T) (addr string, received <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	out := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		say := func(s string) { conn.Write([]byte(s + "\r\n")) }
		say("220 test ESMTP")
		var transcript strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			transcript.WriteString(line)
			switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
			case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
				say("250 test")
			case strings.HasPrefix(cmd, "MAIL FROM"), strings.HasPrefix(cmd, "RCPT TO"):
				say("250 OK")
			case cmd == "DATA":
				say("354 go on")
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if l == ".\r\n" {
						break
					}
					transcript.WriteString(l)
				}
				say("250 queued")
			case cmd == "QUIT":
				say("221 bye")
				out <- transcript.String()
				return
			default:
				say("500 what")
			}
		}
	}()
	return ln.Addr().String(), out
}

func TestSMTPSenderDeliversThroughTheConfiguredServer(t *testing.T) {
	addr, received := smtpServer(t)
	s, err := mail.NewSender("smtp://"+addr+"?from=noreply@uberservice.test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), mail.Message{To: "ann@example.com", Subject: "Deposit received", Body: "Hello Ann,\nthanks."}); err != nil {
		t.Fatal(err)
	}
	got := <-received
	for _, want := range []string{"MAIL FROM:<noreply@uberservice.test>", "RCPT TO:<ann@example.com>", "Subject: Deposit received", "Hello Ann,\r\nthanks."} {
		if !strings.Contains(got, want) {
			t.Errorf("the server did not receive %q:\n%s", want, got)
		}
	}
}

func TestSenderURLs(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, u := range []string{"", "log"} {
		if s, err := mail.NewSender(u, log); err != nil {
			t.Errorf("%q: %v", u, err)
		} else if _, ok := s.(*mail.Recorder); !ok {
			t.Errorf("%q gives %T, want the recorder", u, s)
		}
	}
	if _, err := mail.NewSender("http://example.com", log); err == nil {
		t.Error("an http:// mail URL was accepted")
	}
}

func TestValidAddress(t *testing.T) {
	for s, want := range map[string]bool{
		"ann@example.com":       true,
		"Ann <ann@example.com>": false,
		"ann":                   false,
		"":                      false,
		"ann@example.com\n":     false,
	} {
		if got := mail.ValidAddress(s); got != want {
			t.Errorf("ValidAddress(%q) = %v, want %v", s, got, want)
		}
	}
}
