// Package testkit holds the small helpers many packages' tests share: a
// buffer safe for concurrent writers, and polling with a deadline (tests
// never sleep to synchronise; they poll for the state they wait for).
package testkit

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

// SyncBuffer collects output (logs) from several goroutines.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WaitFor polls cond until it holds or timeout passes; then it fails the
// test with what it waited for and the last state cond reported.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
	t.Fatalf("timed out after %v waiting for %s (last: %s)", timeout, what, last)
}
