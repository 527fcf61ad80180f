package e2e

import (
	"slices"
	"testing"
)

// TestSteps runs examples/cron's pony.yaml through `pony-report run
// --config`: a setup, a build and two test steps written the two ways
// pony.yaml allows, `go test ./...` as a shell line (which gets -json) and
// pytest as a list (its JUnit file named by junit:), each a step of one
// bag with the runner's own counts.
func TestSteps(t *testing.T) {
	t.Parallel()
	needTool(t, "pytest")
	srv := startServer(t, "")
	parent := t.TempDir()
	for _, name := range []string{"go", "pytest"} {
		copyExampleTo(t, parent, name)
	}
	dir := copyExampleTo(t, parent, "cron")
	rep := runReport(t, invocation{dir: dir, args: []string{"run", "--server", srv.URL, "--progress", "never", "--config", "pony.yaml"},
		env: map[string]string{"PONY_SPOOL_DIR": t.TempDir(), "PONYDEMO_STATE": t.TempDir()}})
	if rep.code != 1 {
		t.Fatalf("pony-report exited %d, want 1 (tests fail on purpose):\n%s", rep.code, rep.stderr)
	}
	checkResults(t, srv, "ponydemo-nightly", 1)
	bag := latest(t, srv, "ponydemo-nightly")
	want := []struct {
		name, typ, format string
		tests, fail       int
	}{
		{"download modules", "setup", "none", 0, 0},
		{"build", "build", "none", 0, 0},
		{"go test", "test", "gotest", 8, 2}, // TestMeanNegative, and TestFlaky on its first run
		{"pytest", "test", "junit", 8, 1},
	}
	if len(bag.Steps) != len(want) {
		t.Fatalf("got %d steps, want %d:\n%s", len(bag.Steps), len(want), rep.stderr)
	}
	for i, w := range want {
		st := bag.Steps[i]
		tot := st.Totals()
		if st.Name != w.name || st.Type != w.typ || st.Format != w.format || tot.Tests != w.tests || tot.Fail != w.fail {
			t.Errorf("step %d: got %q %s %s, %d tests, %d failed; want %q %s %s, %d, %d",
				i, st.Name, st.Type, st.Format, tot.Tests, tot.Fail, w.name, w.typ, w.format, w.tests, w.fail)
		}
	}
	if !slices.Contains(bag.ClientInfo.Tags, "nightly") {
		t.Errorf("got tags %q, want pony.yaml's nightly", bag.ClientInfo.Tags)
	}
}
