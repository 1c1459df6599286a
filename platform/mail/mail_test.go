package mail_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/uberservice/uberservice/platform/mail"
)

// smtpServer serves SMTP on a loopback port until the test ends, one session
// per connection. It speaks just enough of the protocol to accept messages,
// and hands over the transcript of each session that ends with QUIT.
//
// Given a stall, it goes silent at that point of every session, as a mail
// server that accepts connections and then hangs does: "greeting" says
// nothing at all; "STARTTLS" offers STARTTLS, answers it, and never begins the
// handshake; any other value is the start of a command it never answers
// ("MAIL FROM"). A silent session reads until the client hangs up, and then
// reports it on hangups.
func smtpServer(t *testing.T, stall string) (addr string, received, hangups <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	out := make(chan string, 16)
	hungUp := make(chan string, 16)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveSMTP(conn, stall, out, hungUp)
		}
	}()
	return ln.Addr().String(), out, hungUp
}

func serveSMTP(conn net.Conn, stall string, out, hungUp chan<- string) {
	defer conn.Close()
	r := bufio.NewReader(conn)
	say := func(s string) { conn.Write([]byte(s + "\r\n")) }
	silent := func(at string) {
		io.Copy(io.Discard, r) // until the client closes the connection
		hungUp <- at
	}
	if stall == "greeting" {
		silent(stall)
		return
	}
	say("220 test ESMTP")
	var transcript strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		transcript.WriteString(line)
		cmd := strings.ToUpper(strings.TrimSpace(line))
		if stall != "" && stall != "STARTTLS" && strings.HasPrefix(cmd, stall) {
			silent(stall)
			return
		}
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			if stall == "STARTTLS" {
				say("250-test")
				say("250 STARTTLS")
			} else {
				say("250 test")
			}
		case strings.HasPrefix(cmd, "HELO"):
			say("250 test")
		case cmd == "STARTTLS" && stall == "STARTTLS":
			say("220 go ahead")
			silent(stall)
			return
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
}

func TestSMTPSenderDeliversThroughTheConfiguredServer(t *testing.T) {
	addr, received, _ := smtpServer(t, "")
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

// A mail server that accepts the connection and then stalls, wherever it
// stalls, costs a send no more than its context's time, and the send hangs up.
func TestSMTPSenderGivesUpOnAStalledServerWhenItsContextEnds(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, stall := range []string{"greeting", "EHLO", "STARTTLS", "MAIL FROM", "DATA"} {
		t.Run(stall, func(t *testing.T) {
			addr, _, hangups := smtpServer(t, stall)
			s, err := mail.NewSender("smtp://"+addr+"?from=noreply@uberservice.test", slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			start := time.Now()
			err = s.Send(ctx, mail.Message{To: "ann@example.com", Subject: "Deposit received", Body: "Hello"})
			took := time.Since(start)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Send to a server that stalls at %s: %v, want an error that says the deadline passed", stall, err)
			}
			if took < timeout || took > timeout+2*time.Second {
				t.Errorf("Send took %s, want about its timeout of %s", took, timeout)
			}
			select {
			case <-hangups:
			case <-time.After(2 * time.Second):
				t.Error("Send returned and left its connection to the server open")
			}
		})
	}
}

// A send without a deadline ends when its context is cancelled.
func TestSMTPSenderStopsWhenItsContextIsCancelled(t *testing.T) {
	addr, _, _ := smtpServer(t, "MAIL FROM")
	s := &mail.SMTP{Addr: addr, From: "noreply@uberservice.test"}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	done := make(chan error, 1)
	go func() { done <- s.Send(ctx, mail.Message{To: "ann@example.com", Subject: "Hi", Body: "Hello"}) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Send: %v, want an error that says it was cancelled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Send still blocked 5s after its context was cancelled")
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
	s, err := mail.NewSender("smtp://ann:secret@mail.example.com:587?from=noreply@example.com", log)
	if err != nil {
		t.Fatal(err)
	}
	if smtp, ok := s.(*mail.SMTP); !ok || smtp.Addr != "mail.example.com:587" || smtp.From != "noreply@example.com" || smtp.Auth == nil {
		t.Errorf("the smtp:// URL with credentials gives %+v", s)
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
