//go:build unix

package acctest

import (
	"os/exec"
	"syscall"
)

// startInOwnProcessGroup lets the interrupt reach terraform and its provider too, as Ctrl-C in a terminal does.
func startInOwnProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

func interruptProcessGroup(cmd *exec.Cmd) error {
	return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
}
