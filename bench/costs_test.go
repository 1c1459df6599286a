package main

import "testing"

func TestParseBenchmarks(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/uberservice/uberservice/platform/identity
cpu: Intel(R) Xeon(R) CPU
BenchmarkVerifyCached-2     	 4316558	       277.3 ns/op	      48 B/op	       1 allocs/op
BenchmarkVerifyUncached-2   	   10000	    101234 ns/op	    9152 B/op	     120 allocs/op
PASS
ok  	github.com/uberservice/uberservice/platform/identity	2.701s
PASS
ok  	github.com/uberservice/uberservice/platform/peerauth	0.012s
`
	got := parseBenchmarks(out)
	if len(got) != 2 {
		t.Fatalf("got %d benchmarks, want 2: %+v", len(got), got)
	}
	want := microBench{Package: "./platform/identity/", Name: "BenchmarkVerifyUncached", Iterations: 10000, NsPerOp: 101234, BytesPerOp: 9152, AllocsPerOp: 120}
	if got[1] != want {
		t.Errorf("got %+v, want %+v", got[1], want)
	}
	if c := findBench(got, "./platform/identity/", "BenchmarkVerifyCached"); c == nil || c.NsPerOp != 277.3 {
		t.Errorf("cached: %+v", c)
	}
	if findBench(got, "./platform/peerauth/", "BenchmarkVerifyCached") != nil {
		t.Error("peerauth has no benchmark in this output")
	}
}
