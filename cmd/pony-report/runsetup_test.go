package main

import (
	"strings"
	"testing"
)

// TestRunSetupSayingOK: a setup step that prints "ok" (or a plan-like
// line) is not a TAP stream cut short: the steps after it run, and a test
// command that prints a lone "ok" and exits 0 passes.
func TestRunSetupSayingOK(t *testing.T) {
	t.Parallel()
	r := runBin(t, invocation{args: []string{"run", "--dry-run", "--package", "p", "--progress", "never",
		"--setup", "echo ok; echo 1..1", "--", "sh", "-c", "echo ok"}})
	if r.code != 0 {
		t.Fatalf("exit %d, want 0\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stderr, "not run") {
		t.Errorf("a step was skipped:\n%s", r.stderr)
	}
	bag, _ := dryBag(t, r.stdout)
	if len(bag.Steps) != 2 {
		t.Fatalf("got %d steps, want setup and test", len(bag.Steps))
	}
	for _, st := range bag.Steps {
		if st.Incomplete || st.Format != "none" || st.Status != 0 || len(st.Tests) != 0 {
			t.Errorf("step %s %q: format %q, incomplete %v, status %d, %d tests; want plain output, complete, 0, none",
				st.Type, st.Name, st.Format, st.Incomplete, st.Status, len(st.Tests))
		}
	}
	if !bag.Success() {
		t.Error("the bag is not a success")
	}
}
