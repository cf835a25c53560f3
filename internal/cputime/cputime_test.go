package cputime

import (
	"runtime"
	"testing"
)

// Busy work moves the process's CPU time forward.
func TestProcessGrows(t *testing.T) {
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" {
		t.Skip("no getrusage")
	}
	before := Process()
	x := uint64(1)
	for before == Process() {
		for i := range 1_000_000 {
			x = x*6364136223846793005 + uint64(i)
		}
	}
	if Process() <= before || x == 0 {
		t.Fatalf("CPU time did not grow: %v", Process())
	}
}
