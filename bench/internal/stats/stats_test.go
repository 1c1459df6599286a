package stats

import (
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{nil, 0}, {[]float64{3}, 3}, {[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := Median(tc.xs); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
	if got := MedianDuration([]time.Duration{time.Second, 3 * time.Second, 2 * time.Second}); got != 2*time.Second {
		t.Errorf("MedianDuration = %s", got)
	}
}

// Percentile is nearest-rank: p99 of 100 samples is the 99th, of 1000 the
// 990th.
func TestPercentile(t *testing.T) {
	var xs []float64
	for i := 1000; i >= 1; i-- {
		xs = append(xs, float64(i))
	}
	for q, want := range map[float64]float64{50: 500, 99: 990, 100: 1000, 0.01: 1} {
		if got := Percentile(xs, q); got != want {
			t.Errorf("Percentile(1..1000, %v) = %v, want %v", q, got, want)
		}
	}
	if Percentile(xs[:100], 99) != 999 || Min(xs) != 1 || Max(xs) != 1000 {
		t.Errorf("Percentile of 100 samples, Min or Max wrong")
	}
}
