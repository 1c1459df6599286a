package failpoint

import (
	"errors"
	"testing"
)

func TestAbandonIsReportedOnlyWhileEnabled(t *testing.T) {
	if err := Inject("x"); err != nil {
		t.Fatalf("disarmed failpoint returned %v", err)
	}
	disable := Enable("x", "abandon")
	if err := Inject("x"); !errors.Is(err, ErrAbandoned) {
		t.Fatalf("armed failpoint returned %v", err)
	}
	if err := Inject("y"); err != nil {
		t.Fatalf("another failpoint returned %v", err)
	}
	disable()
	if err := Inject("x"); err != nil {
		t.Fatalf("disabled failpoint returned %v", err)
	}
}

func TestParseRejectsUnknownActions(t *testing.T) {
	if err := parse("a=explode"); err == nil {
		t.Fatal("accepted an unknown action")
	}
	if err := parse("a=abandon, b=exit"); err != nil {
		t.Fatal(err)
	}
	defer Enable("a", "abandon")()
	defer Enable("b", "exit")()
}
