//go:build !unix

package client

import (
	"io"
	"os"
	"os/exec"
	"syscall"
)

// setProcessGroup does nothing where there are no process groups.
func setProcessGroup(cmd *exec.Cmd, stdin io.Reader) bool { return false }

// signalCommand stops the command: Kill for SIGKILL, else Interrupt (where
// the platform has it).
func signalCommand(cmd *exec.Cmd, group bool, sig syscall.Signal) {
	if cmd.Process == nil {
		return
	}
	if sig == syscall.SIGKILL {
		cmd.Process.Kill()
		return
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		cmd.Process.Kill()
	}
}

// signalNumber is 0: the platform does not say.
func signalNumber(ps *os.ProcessState) int { return 0 }
