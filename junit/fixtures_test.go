package junit_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// repoRoot walks up from the package directory to the folder holding go.mod.
func repoRoot(t testing.TB) string {
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

// sharedFixtures returns ../shared/fixtures/junit from the repository root,
// read in place. It fails the test when the folder is missing, unless
// PONY_NO_SHARED_FIXTURES=1, in which case it returns "" and the callers
// run on our own inputs only.
func sharedFixtures(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "..", "shared", "fixtures", "junit")
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		if os.Getenv("PONY_NO_SHARED_FIXTURES") == "1" {
			t.Logf("shared fixtures %s not present and PONY_NO_SHARED_FIXTURES=1: not using them", dir)
			return ""
		}
		t.Fatalf("shared fixtures folder %s is missing (set PONY_NO_SHARED_FIXTURES=1 to run without it): %v", dir, err)
	}
	return dir
}

// ownInputs lists the real JUnit inputs under reporters/testdata/junit.
func ownInputs(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "reporters", "testdata", "junit", "*.xml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no inputs under reporters/testdata/junit: %v", err)
	}
	return files
}

// fixtureInputs lists every *.xml and *.junit-xml under the shared JUnit
// fixtures, sorted.
func fixtureInputs(t testing.TB) []string {
	t.Helper()
	root := sharedFixtures(t)
	if root == "" {
		return nil
	}
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".xml") || strings.HasSuffix(p, ".junit-xml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no *.xml or *.junit-xml under %s", root)
	}
	sort.Strings(files)
	return files
}

// rel names a file relative to the repository root's parent, for messages
// and for the exception table.
func rel(t testing.TB, p string) string {
	r, err := filepath.Rel(filepath.Dir(repoRoot(t)), p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(r)
}
