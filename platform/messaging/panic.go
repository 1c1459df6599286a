package messaging

import (
	"bytes"
	"fmt"
	"runtime/debug"
)

// A handler that panics has failed an attempt, exactly as if it had returned
// an error. Left alone, its panic would do far worse: Watermill's router
// recovers it and nacks, so the message is redelivered at once and for ever
// and never reaches the dead letters; and in a batch worker or the retry
// loop, goroutines of this package's own, nothing recovers it and it kills
// the process with every module in it. So every call into a handler goes
// through callSafely, which turns the panic into a panicError, and from there
// the failure takes the path of any error: the transaction rolls back, the
// message is retried with backoff and ends as a dead letter, whose last error
// carries the panic's value and stack for whoever reads it.

// maxPanicStack bounds the stack a panicError keeps: it is stored with the
// dead letter and logged, and the frames that matter are the first ones.
const maxPanicStack = 8 << 10

// panicError is a recovered panic. It is deliberately not permanent: a panic
// that depends on state (a row not there yet, a map a restart fills) may well
// pass on a retry, and one that does not is dead after the policy's attempts
// like any error.
type panicError struct {
	value any
	stack []byte // of the goroutine that panicked, at most maxPanicStack and a line
}

func (p *panicError) Error() string {
	return fmt.Sprintf("panic: %v\n\n%s", p.value, p.stack)
}

// newPanicError records value, the value of a panic recovered now, with the
// stack of the goroutine that recovered it: called from the deferred
// function, that stack still holds the frames that panicked. The frames of
// the recovery itself are left out, so that the stack reads as Go prints a
// crash: the goroutine, the call to panic, and the code that made it.
func newPanicError(value any) *panicError {
	stack := debug.Stack()
	if header := bytes.IndexByte(stack, '\n'); header > 0 {
		if at := bytes.Index(stack, []byte("\npanic(")); at > header {
			stack = append(stack[:header+1:header+1], stack[at+1:]...)
		}
	}
	if len(stack) > maxPanicStack {
		cut := stack[:maxPanicStack]
		if i := bytes.LastIndexByte(cut, '\n'); i > 0 {
			cut = cut[:i]
		}
		stack = append(cut[:len(cut):len(cut)], "\n... (stack truncated)"...)
	}
	return &panicError{value: value, stack: stack}
}

// callSafely calls fn and returns its error or, if it panics, the panic as a
// *panicError.
func callSafely(fn func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = newPanicError(v)
		}
	}()
	return fn()
}
