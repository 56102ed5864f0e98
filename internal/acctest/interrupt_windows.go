//go:build windows

package acctest

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// startInOwnProcessGroup makes cmd lead a console process group of its own,
// so that interruptProcessGroup reaches terraform and the provider it starts.
func startInOwnProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
}

// interruptProcessGroup sends CTRL_BREAK to the process group that cmd
// leads: Windows delivers Ctrl-C only to a whole console, and Go programs
// such as terraform see either as os.Interrupt.
func interruptProcessGroup(cmd *exec.Cmd) error {
	return windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(cmd.Process.Pid))
}
