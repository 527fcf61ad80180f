package junit_test

import (
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pony-build/pony/internal/testenv"
)

// sharedFixtures returns ../shared/fixtures/junit, read in place, or ""
// when opted out (see testenv.SharedFixtures).
func sharedFixtures(t testing.TB) string {
	t.Helper()
	return testenv.SharedFixtures(t, "junit")
}

// repoRoot is the repository root.
func repoRoot(t testing.TB) string { return testenv.RepoRoot(t) }

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
