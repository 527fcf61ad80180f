package client

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pony-build/pony"
)

func TestNamedReports(t *testing.T) {
	surefire := []ReportGlob{
		{Format: "junit", Pattern: "**/target/surefire-reports/TEST-*.xml", Implicit: true},
		{Format: "junit", Pattern: "**/target/failsafe-reports/TEST-*.xml", Implicit: true},
	}
	for _, tc := range []struct {
		argv []string
		want []ReportGlob
	}{
		{[]string{"pytest", "--junitxml=r.xml"}, []ReportGlob{{Format: "junit", Pattern: "r.xml"}}},
		{[]string{"pytest", "-q", "--junitxml", "out/r.xml", "tests"}, []ReportGlob{{Format: "junit", Pattern: "out/r.xml"}}},
		{[]string{"py.test", "--junit-xml=a.xml", "--junitxml=b.xml"}, []ReportGlob{{Format: "junit", Pattern: "b.xml"}}},
		{[]string{"/usr/bin/python3", "-m", "pytest", "--junitxml=r.xml"}, []ReportGlob{{Format: "junit", Pattern: "r.xml"}}},
		{[]string{"python3.12", "-X", "dev", "-m", "pytest", "--junitxml=r.xml"}, []ReportGlob{{Format: "junit", Pattern: "r.xml"}}},
		{[]string{"python3", "run_tests.py", "--junitxml=r.xml"}, nil}, // a script's own flag
		{[]string{"pytest", "tests"}, nil},
		{[]string{"gotestsum", "--junitfile", "j.xml", "--jsonfile=e.json", "--", "-count=1"}, []ReportGlob{{Format: "gotest", Pattern: "e.json"}}},
		{[]string{"gotestsum", "--junitfile=j.xml", "--", "./..."}, []ReportGlob{{Format: "junit", Pattern: "j.xml"}}},
		{[]string{"gotestsum", "--", "--jsonfile=x"}, nil}, // go test's flags, not gotestsum's
		{[]string{"go", "run", "gotest.tools/gotestsum@v1.13.0", "--rerun-fails", "--jsonfile", "g.json"}, []ReportGlob{{Format: "gotest", Pattern: "g.json"}}},
		{[]string{"node", "--test", "--test-reporter=spec", "--test-reporter-destination=stdout", "--test-reporter=junit", "--test-reporter-destination=junit.xml"},
			[]ReportGlob{{Format: "junit", Pattern: "junit.xml"}}},
		{[]string{"node", "--test", "--test-reporter", "tap", "--test-reporter-destination", "out.tap"}, []ReportGlob{{Format: "tap", Pattern: "out.tap"}}},
		{[]string{"node", "--test", "--test-reporter=junit"}, nil}, // to stdout
		{[]string{"mvn", "-B", "test"}, surefire},
		{[]string{"./mvnw", "verify"}, surefire},
		{[]string{"./gradlew", "test"}, []ReportGlob{{Format: "junit", Pattern: "**/build/test-results/**/*.xml", Implicit: true}}},
		{[]string{"sh", "-c", "pytest --junitxml=r.xml tests"}, []ReportGlob{{Format: "junit", Pattern: "r.xml"}}},
		{[]string{"sh", "-c", "pytest --junitxml=$OUT tests"}, nil}, // a variable: not looked into
		{[]string{"make", "test"}, nil},
		{nil, nil},
	} {
		if got := NamedReports(tc.argv); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("NamedReports(%q): got %+v, want %+v", tc.argv, got, tc.want)
		}
	}
}

func TestPytestJUnitArg(t *testing.T) {
	for _, tc := range []struct {
		argv, want string
		ok         bool
	}{
		{"pytest", "pytest --junitxml=F", true},
		{"pytest -q tests", "pytest --junitxml=F -q tests", true},
		{"python3 -m pytest -x", "python3 -m pytest --junitxml=F -x", true},
		{"python -X dev -mpytest", "python -X dev -mpytest --junitxml=F", true},
		{"pytest --junitxml=mine.xml", "pytest --junitxml=mine.xml", false},
		{"pytest --junit-xml mine.xml", "pytest --junit-xml mine.xml", false},
		{"pytest -p no:junitxml", "pytest -p no:junitxml", false},
		{"python3 script.py", "python3 script.py", false},
		{"python3 -m", "python3 -m", false},
		{"python3 -c pass", "python3 -c pass", false},
		{"tox -e py311", "tox -e py311", false},
		{"sh -c pytest_-q_tests", "sh -c pytest --junitxml=F -q tests", true},
		{"sh -c pytest_--junitxml=r.xml", "sh -c pytest_--junitxml=r.xml", false},
		{"sh -c pytest_-k_'a_or_b'", "sh -c pytest_-k_'a_or_b'", false},
	} {
		argv := strings.Fields(tc.argv)
		for i := range argv {
			argv[i] = strings.ReplaceAll(argv[i], "_", " ") // a shell line's words
		}
		got, ok := PytestJUnitArg(argv, "F")
		if strings.ReplaceAll(strings.Join(got, " "), "_", " ") != strings.ReplaceAll(tc.want, "_", " ") || ok != tc.ok {
			t.Errorf("PytestJUnitArg(%q): got %q, %v; want %q, %v", tc.argv, strings.Join(got, " "), ok, tc.want, tc.ok)
		}
	}
}

// TestRunReadsNamedReports runs a stand-in for mvn (a script named mvn that
// writes a Surefire report where Maven does) and checks that its tests are
// read without any --junit, and that the same file named by --junit too is
// read once.
func TestRunReadsNamedReports(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	writeFile(t, filepath.Join(bin, "mvn"), `#!/bin/sh
mkdir -p mod/target/surefire-reports
cat > mod/target/surefire-reports/TEST-demo.AppTest.xml <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="demo.AppTest" tests="2" failures="1" errors="0" skipped="0">
  <testcase name="adds" classname="demo.AppTest" time="0.001"/>
  <testcase name="divides" classname="demo.AppTest" time="0.002"><failure message="expected 2">trace</failure></testcase>
</testsuite>
XML
echo "[ERROR] Tests run: 2, Failures: 1"
exit 1
`)
	if err := os.Chmod(filepath.Join(bin, "mvn"), 0o755); err != nil {
		t.Fatal(err)
	}
	var notes []string
	r := &Runner{Say: func(f string, a ...any) { notes = append(notes, fmt.Sprintf(f, a...)) }}
	for _, explicit := range [][]ReportGlob{nil, {{Format: "junit", Pattern: "mod/target/surefire-reports/*.xml"}}} {
		notes = nil
		sr := r.Run(context.Background(), Command{Argv: []string{filepath.Join(bin, "mvn"), "-B", "test"}, Dir: dir, Reports: explicit})
		tot := sr.Step.Totals()
		if tot.Tests != 2 || tot.Fail != 1 || len(sr.FileSteps) != 0 || sr.ExitCode != 1 || sr.Step.Format != "junit" {
			t.Errorf("explicit %v: got totals %+v, %d file steps, exit %d, format %q; want 2 tests, 1 fail, no file step, exit 1, junit",
				explicit, tot, len(sr.FileSteps), sr.ExitCode, sr.Step.Format)
		}
		if len(notes) != 0 {
			t.Errorf("explicit %v: got notes %q, want none (no Failsafe report is no news)", explicit, notes)
		}
	}
}

func TestNoTestsHint(t *testing.T) {
	none := &pony.Bag{Steps: []pony.Step{{Type: "test"}}}
	some := &pony.Bag{Steps: []pony.Step{{Type: "test", Tests: []pony.TestResult{{Name: "a", Status: pony.StatusPass}}}}}
	for _, tc := range []struct {
		bag  *pony.Bag
		argv string
		want string
	}{
		{some, "make test", ""},
		{none, "prove -lr t", "with -v"},
		{none, "prove -lvr t", "--junit"},
		{none, "prove --verbose t", "--junit"},
		{none, "make test", "--junit, --tap or --gotest"},
	} {
		got := NoTestsHint(tc.bag, strings.Fields(tc.argv))
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("NoTestsHint(%q): got %q, want it holding %q", tc.argv, got, tc.want)
		}
	}
}

func TestPytestJUnitOff(t *testing.T) {
	dir := t.TempDir()
	if pytestJUnitOff(dir) {
		t.Error("an empty folder: got the plugin off")
	}
	writeFile(t, filepath.Join(dir, "pyproject.toml"), "[tool.pytest.ini_options]\naddopts = \"-p no:junitxml\"\n")
	if !pytestJUnitOff(dir) {
		t.Error("pyproject.toml with -p no:junitxml: got the plugin on")
	}
}
