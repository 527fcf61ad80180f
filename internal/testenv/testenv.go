// Package testenv finds what the project's tests read outside their own
// package: the repository root and the shared real-world fixtures, which
// are read in place beside the clone (../shared/fixtures) and never copied.
package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RepoRoot walks up from the test's working directory (its package folder)
// to the folder holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// OptOutEnv is the variable that lets tests run without the shared
// fixtures. Without it, a missing fixtures folder fails the test.
const OptOutEnv = "PONY_NO_SHARED_FIXTURES"

// SharedFixtures returns ../shared/fixtures (joined with sub) beside the
// repository root. When the folder is missing it fails the test, unless
// PONY_NO_SHARED_FIXTURES=1, when it logs so and returns "".
func SharedFixtures(t testing.TB, sub ...string) string {
	t.Helper()
	dir := filepath.Join(append([]string{RepoRoot(t), "..", "shared", "fixtures"}, sub...)...)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		if os.Getenv(OptOutEnv) == "1" {
			t.Logf("shared fixtures %s not present and %s=1: not using them", dir, OptOutEnv)
			return ""
		}
		t.Fatalf("shared fixtures %s are missing (they sit beside the clone, as in CI; set %s=1 to run without them)", dir, OptOutEnv)
	}
	return dir
}

// NeedCommand returns the path of the program name on PATH. When it is
// missing the test fails under CI (CI set: scripts/test.sh installs what the
// tests need, so a missing runner is a broken setup) and is skipped, saying
// so, elsewhere.
func NeedCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed, and CI is set: scripts/deps.sh installs it", name)
	}
	t.Skipf("%s is not installed (bash scripts/deps.sh installs it)", name)
	return ""
}
