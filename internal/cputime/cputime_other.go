//go:build !unix

// Package cputime reads the CPU time the process has used, which on a
// busy shared machine measures work where wall time measures the queue.
package cputime

import "time"

// Process is 0 where getrusage is not available.
func Process() time.Duration { return 0 }
