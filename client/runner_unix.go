//go:build unix

package client

import (
	"io"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/term"
)

// setProcessGroup starts the command in a process group of its own, so that
// a signal (a time limit, a forwarded SIGTERM) reaches everything it started
// — unless stdin is a terminal: a command in a background group could not
// read it, and the terminal's ^C reaches the foreground group anyway. It
// reports whether the command has its own group.
func setProcessGroup(cmd *exec.Cmd, stdin io.Reader) bool {
	// A terminal, not any character device: stdin is /dev/null under cron,
	// nohup, docker run without -t, or exec.Cmd's default, and the command
	// must have its group then.
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return false
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return true
}

// signalCommand sends sig to the command, or to its whole process group.
func signalCommand(cmd *exec.Cmd, group bool, sig syscall.Signal) {
	if cmd.Process == nil {
		return
	}
	if group {
		if err := syscall.Kill(-cmd.Process.Pid, sig); err == nil {
			return
		}
	}
	cmd.Process.Signal(sig)
}

// signalNumber is the signal that killed the process, 0 when it exited.
func signalNumber(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return int(ws.Signal())
	}
	return 0
}
