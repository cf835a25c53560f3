package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the process when the test binary that
// started it exits, whatever way it exits.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
