package testkit

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestSyncBufferConcurrentWriters(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() { fmt.Fprintf(&b, "%d\n", i) })
	}
	wg.Wait()
	if n := len(b.String()); n != 16 {
		t.Errorf("got %d bytes, want 16", n)
	}
}

func TestWaitForReturnsWhenTrue(t *testing.T) {
	start := time.Now()
	n := 0
	WaitFor(t, 5*time.Second, "three calls", func() (bool, string) { n++; return n == 3, fmt.Sprint(n) })
	if n != 3 || time.Since(start) > 4*time.Second {
		t.Errorf("WaitFor polled %d times in %v", n, time.Since(start))
	}
}
