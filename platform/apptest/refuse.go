package apptest

import (
	"sync"
	"testing"
)

// BadRequest is a request a module must refuse. Its fields are in the order
// a table of cases lists them.
type BadRequest struct {
	Name    string
	Method  string
	URL     string
	Body    string // sent as is; "" for none
	Headers []string
	Status  int
	Code    string // the problem's code; "" for any
}

// ExpectRefused sends each request in a subtest of its own and holds it to
// the rule for bad input: a 4xx problem+json with its status and code, never
// a 5xx, and nothing changed. state describes what the requests must not
// change (balances, row counts); it must read after each request as it did
// before the first.
func ExpectRefused(t *testing.T, requests []BadRequest, state func(t testing.TB) string) {
	t.Helper()
	before := state(t)
	for _, r := range requests {
		t.Run(r.Name, func(t *testing.T) {
			var body any
			if r.Body != "" {
				body = r.Body
			}
			res := Do(t, r.Method, r.URL, body, r.Headers...)
			if res.Status >= 500 {
				t.Fatalf("status %d: %s", res.Status, res.Body)
			}
			res.ExpectProblem(t, r.Status, r.Code)
			if after := state(t); after != before {
				t.Fatalf("%s, want %s unchanged", after, before)
			}
		})
	}
}

// Race runs f n times at once, released together, and returns the results
// by index: the way a concurrency test makes requests collide.
func Race[T any](n int, f func(i int) T) []T {
	out := make([]T, n)
	var ready, done sync.WaitGroup
	ready.Add(n)
	gate := make(chan struct{})
	for i := range n {
		done.Go(func() {
			ready.Done()
			<-gate
			out[i] = f(i)
		})
	}
	ready.Wait()
	close(gate)
	done.Wait()
	return out
}
