//go:build unix

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// alive reports whether process pid still runs (a zombie does not).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true // no /proc: trust kill
	}
	// pid (comm) STATE …; comm may hold spaces and parentheses.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// readPid waits for the command to write its background child's pid.
func readPid(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && bytes.HasSuffix(b, []byte("\n")) {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatalf("pid file %q: %v", b, err)
			}
			return pid
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the command did not write its child's pid")
	return 0
}

// gone fails the test unless pid is gone within 10 s.
func gone(t *testing.T, pid int, why string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("%s: the command's child %d still runs (an orphan): the signal reached only the command", why, pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRunStopsTheWholeCommand: a time limit or a SIGTERM to pony-report
// reaches everything the command started (go test's test binary, a
// script's children), not only the command itself, with standard input on
// /dev/null as under cron, nohup or docker run without -t (where a
// character-device check took /dev/null for a terminal and left the test
// binary running).
func TestRunStopsTheWholeCommand(t *testing.T) {
	t.Parallel()
	script := `sleep 120 & echo $! > "$PIDFILE"; wait`
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { devnull.Close() })

	t.Run("time limit", func(t *testing.T) {
		t.Parallel()
		pidfile := filepath.Join(t.TempDir(), "pid")
		r := runBin(t, invocation{stdin: devnull, env: map[string]string{"PIDFILE": pidfile},
			args: []string{"run", "--dry-run", "--package", "p", "--progress", "never", "--time-limit", "2s", "--", "sh", "-c", script}})
		if r.code != 128+15 {
			t.Errorf("exit code %d, want %d\n%s", r.code, 128+15, r.stderr)
		}
		gone(t, readPid(t, pidfile), "--time-limit")
	})

	t.Run("SIGTERM", func(t *testing.T) {
		t.Parallel()
		pidfile := filepath.Join(t.TempDir(), "pid")
		cmd := exec.Command(bin, "run", "--dry-run", "--package", "p", "--progress", "never", "--", "sh", "-c", script)
		cmd.Env = cleanEnv(map[string]string{"PONY_SPOOL_DIR": t.TempDir(), "PIDFILE": pidfile})
		cmd.Stdin = devnull
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := readPid(t, pidfile)
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Fatal("pony-report did not exit within 30 s of SIGTERM")
		}
		gone(t, pid, "SIGTERM")
	})
}
