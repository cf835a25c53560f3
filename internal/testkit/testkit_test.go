package testkit

import (
	"fmt"
	"path/filepath"
	"strings"
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

// recorder is a testing.TB that keeps what a helper reports instead of
// failing the test running it.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.golden")
	Golden(t, path, "one\ntwo\n", true) // -update writes it
	r := &recorder{TB: t}
	Golden(r, path, "one\ntwo\n", false)
	if len(r.errs) != 0 {
		t.Fatalf("same output reported: %v", r.errs)
	}
	Golden(r, path, "one\nthree\n", false)
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "line 2:\n  want \"two\"\n  got  \"three\"") {
		t.Fatalf("a changed line reported as %q", r.errs)
	}
	r.errs = nil
	Golden(r, path, "one\ntwo", false)
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "3 lines wanted, 2 got") {
		t.Fatalf("a missing trailing newline reported as %q", r.errs)
	}
}
