//go:build windows

package acctest

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// startInOwnProcessGroup makes the pid a group id that CTRL_BREAK can reach without reaching the tests.
func startInOwnProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
}

// interruptProcessGroup sends CTRL_BREAK, which Go reads as Ctrl-C: Windows sends Ctrl-C to whole consoles.
func interruptProcessGroup(cmd *exec.Cmd) error {
	return windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(cmd.Process.Pid))
}
