//go:build unix

package learn

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time the process has used (user + system): on a
// busy machine it measures work where wall time measures the queue.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
