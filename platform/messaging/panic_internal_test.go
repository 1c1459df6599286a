package messaging

import (
	"errors"
	"strings"
	"testing"
)

// The stack a panic leaves is the one Go would print had it crashed, without
// the frames of the recovery, and bounded.
func TestAPanicsStackIsTrimmedAndBounded(t *testing.T) {
	var deep func(n int) error
	deep = func(n int) error {
		if n == 0 {
			panic("deep enough")
		}
		return deep(n - 1)
	}
	err := callSafely(func() error { return deep(500) })
	var p *panicError
	if !errors.As(err, &p) {
		t.Fatalf("callSafely returned %v, want a *panicError", err)
	}
	lines := strings.Split(err.Error(), "\n")
	if lines[0] != "panic: deep enough" || !strings.HasPrefix(lines[2], "goroutine ") || !strings.HasPrefix(lines[3], "panic(") {
		t.Fatalf("error does not read like Go's crash output:\n%s", strings.Join(lines[:min(len(lines), 8)], "\n"))
	}
	if strings.Contains(err.Error(), "callSafely") || strings.Contains(err.Error(), "debug.Stack") {
		t.Fatalf("stack still holds the recovery's frames:\n%s", err)
	}
	if len(p.stack) > maxPanicStack+len("\n... (stack truncated)") || !strings.HasSuffix(err.Error(), "(stack truncated)") {
		t.Fatalf("stack of %d bytes, want at most %d and marked truncated", len(p.stack), maxPanicStack)
	}
	if err := callSafely(func() error { return errors.New("plain") }); err == nil || err.Error() != "plain" {
		t.Fatalf("callSafely changed an error: %v", err)
	}
}
