//go:build unix

// Package cputime reads the CPU time the process has used, which on a
// busy shared machine measures work where wall time measures the queue.
package cputime

import (
	"syscall"
	"time"
)

// Process is the user + system CPU time the process has used so far (0
// when the system does not say).
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
