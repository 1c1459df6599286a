package problem_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/uberservice/uberservice/platform/problem"
)

func TestWrapfNamesWhereAnInfrastructureErrorHappened(t *testing.T) {
	cause := errors.New("connection reset")
	err := problem.Wrapf(cause, "accounts: %s", "deposit")
	if err.Error() != "accounts: deposit: connection reset" {
		t.Errorf("Wrapf says %q", err)
	}
	if !errors.Is(err, cause) {
		t.Error("the cause is not in the chain")
	}
	if got := problem.From(err); got != problem.ErrInternal {
		t.Errorf("a wrapped infrastructure error answers %v, want the internal problem", got)
	}
}

func TestWrapfPassesProblemsUnchanged(t *testing.T) {
	notFound := problem.ErrNotFound.WithDetail("no account 42")
	for name, err := range map[string]error{
		"a problem":                notFound,
		"an error wrapping one":    fmt.Errorf("%w: %w", problem.ErrUnavailable.WithDetail("accounts is down"), errors.New("dial tcp")),
		"a transport failure":      problem.Unavailable(errors.New("dial tcp")),
		"a problem with no detail": problem.ErrIdempotencyMismatch,
	} {
		t.Run(name, func(t *testing.T) {
			if got := problem.Wrapf(err, "accounts: %s", "get"); got != err {
				t.Errorf("Wrapf(%v) = %v, want it unchanged", err, got)
			}
		})
	}
}

func TestWrapfOfNilIsNil(t *testing.T) {
	if err := problem.Wrapf(nil, "accounts: open"); err != nil {
		t.Errorf("Wrapf(nil) = %v", err)
	}
}
