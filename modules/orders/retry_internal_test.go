package orders

import (
	"testing"
	"time"
)

// The recovery waits twice as long after each failed attempt, from
// retryBase, up to retryMax, however many attempts have failed.
func TestRetryDelayDoublesUpToItsCap(t *testing.T) {
	want := retryBase
	for n := 1; n <= 12; n++ {
		if got := retryDelay(n); got != min(want, retryMax) {
			t.Errorf("retryDelay(%d) = %s, want %s", n, got, min(want, retryMax))
		}
		want *= 2
	}
	for _, n := range []int{0, -1} {
		if got := retryDelay(n); got != retryBase {
			t.Errorf("retryDelay(%d) = %s, want %s", n, got, retryBase)
		}
	}
	for _, n := range []int{63, 64, 1000, 1 << 30} {
		if got := retryDelay(n); got != retryMax {
			t.Errorf("retryDelay(%d) = %s, want the cap %s", n, got, retryMax)
		}
	}
	if retryBase <= 0 || retryMax < retryBase || retryMax > time.Hour {
		t.Errorf("retryBase %s, retryMax %s: want 0 < base <= max <= 1h", retryBase, retryMax)
	}
}
