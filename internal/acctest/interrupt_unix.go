//go:build unix

package acctest

import (
	"os/exec"
	"syscall"
)

// startInOwnProcessGroup makes cmd lead a process group of its own, so that
// interruptProcessGroup reaches terraform and the provider it starts, as a
// Ctrl-C in a terminal does.
func startInOwnProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// interruptProcessGroup sends SIGINT to the process group that cmd leads.
func interruptProcessGroup(cmd *exec.Cmd) error {
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
}
