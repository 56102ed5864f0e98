//go:build windows

package acctest

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

func startInOwnProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
}

// interruptProcessGroup sends CTRL_BREAK, which Go reads as Ctrl-C: Windows sends Ctrl-C to whole consoles.
func interruptProcessGroup(cmd *exec.Cmd) error {
	return windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(cmd.Process.Pid))
}
