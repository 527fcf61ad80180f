package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/internal/testenv"
)

// The examples of examples/README.md, each run twice: by its runner alone
// (in a copy and a state directory of its own) and through `pony-report run`
// against a real pony-server. pony-report must exit as the runner did, and
// the stored bag's counts must equal the runner's own summary, parsed from
// its output.

// reportRun is `pony-report run` for package pkg against srv, spooling into
// a directory of the test's own, then the command.
func reportRun(t testing.TB, srv *server, pkg string, flagsAndCommand ...string) []string {
	t.Helper()
	return append([]string{"run", "--server", srv.URL, "--package", pkg, "--spool-dir", t.TempDir()}, flagsAndCommand...)
}

// testsOf returns every test entry of a bag, reruns included.
func testsOf(b *pony.Bag) []pony.TestResult {
	var all []pony.TestResult
	for _, s := range b.Steps {
		all = append(all, s.Tests...)
	}
	return all
}

// topLevel returns the tests that are not a subtest of another test of the
// bag (a test named P/child whose suite holds a test P).
func topLevel(tests []pony.TestResult) []pony.TestResult {
	names := map[[2]string]bool{}
	for _, tr := range tests {
		names[[2]string{tr.Suite, tr.Name}] = true
	}
	var top []pony.TestResult
	for _, tr := range tests {
		sub := false
		for i := strings.IndexByte(tr.Name, '/'); i >= 0; {
			if names[[2]string{tr.Suite, tr.Name[:i]}] {
				sub = true
				break
			}
			j := strings.IndexByte(tr.Name[i+1:], '/')
			if j < 0 {
				break
			}
			i += 1 + j
		}
		if !sub {
			top = append(top, tr)
		}
	}
	return top
}

// countStatus counts test entries by status.
func countStatus(tests []pony.TestResult) map[pony.Status]int {
	n := map[pony.Status]int{}
	for _, tr := range tests {
		n[tr.Status]++
	}
	return n
}

// findTest returns the last entry of the test named name (its verdict).
func findTest(t testing.TB, b *pony.Bag, name string) pony.TestResult {
	t.Helper()
	var found *pony.TestResult
	for _, s := range b.Steps {
		for i := range s.Tests {
			if s.Tests[i].Name == name {
				found = &s.Tests[i]
			}
		}
	}
	if found == nil {
		t.Fatalf("no test %q in the bag", name)
	}
	return *found
}

// atoi is strconv.Atoi for numbers a regexp matched.
func atoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkResults checks that the package has exactly n stored results.
func checkResults(t testing.TB, srv *server, pkg string, n int) {
	t.Helper()
	if got := len(results(t, srv, pkg)); got != n {
		t.Fatalf("%s has %d stored results, want %d", pkg, got, n)
	}
}

var goTestVerdict = regexp.MustCompile(`(?m)^\s*--- (PASS|FAIL|SKIP): `)

// goTestCounts counts the verdict lines of `go test -v` output.
func goTestCounts(out string) map[string]int {
	n := map[string]int{}
	for _, m := range goTestVerdict.FindAllStringSubmatch(out, -1) {
		n[m[1]]++
	}
	return n
}

// TestGoTest runs examples/go (a failing and a flaky test) through
// `pony-report run -- go test ./...` twice with one state directory, so that
// the flaky test fails and then passes, beside `go test -v` run directly;
// on SQLite, and on PostgreSQL when PONY_TEST_POSTGRES_DSN is set.
func TestGoTest(t *testing.T) {
	t.Parallel()
	needTool(t, "go")
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			t.Parallel()
			dsn := ""
			if db == "postgres" {
				dsn = testenv.FreshPostgres(t)
			}
			srv := startServer(t, dsn)
			pkg := "e2e-go-" + db
			viaReport, direct := copyExample(t, "go"), copyExample(t, "go")
			reportState, directState := t.TempDir(), t.TempDir()
			for i, run := range []struct {
				env        map[string]string
				wantFlaky  pony.Status
				wantStatus int
			}{
				// TestMeanNegative fails; TestFlaky fails on its first run.
				{map[string]string{}, pony.StatusFail, 1},
				// TestMeanNegative is skipped as fixed; TestFlaky passes.
				{map[string]string{"PONYDEMO_FIXED": "1"}, pony.StatusPass, 0},
			} {
				env := func(state string) map[string]string {
					m := map[string]string{"PONYDEMO_STATE": state}
					for k, v := range run.env {
						m[k] = v
					}
					return m
				}
				own := runProgram(t, needTool(t, "go"), invocation{dir: direct, args: []string{"test", "-v", "./..."}, env: env(directState)})
				rep := runReport(t, invocation{dir: viaReport, args: reportRun(t, srv, pkg, "--", "go", "test", "./..."), env: env(reportState)})
				if own.code != run.wantStatus {
					t.Fatalf("run %d: go test -v exited %d, want %d:\n%s", i+1, own.code, run.wantStatus, own.stdout)
				}
				if rep.code != own.code {
					t.Fatalf("run %d: pony-report exited %d, want go test's %d:\n%s\n%s", i+1, rep.code, own.code, rep.stdout, rep.stderr)
				}
				checkResults(t, srv, pkg, i+1)
				bag := latest(t, srv, pkg)
				want := goTestCounts(own.stdout)
				got := bag.Totals()
				if got.Pass != want["PASS"] || got.Fail != want["FAIL"] || got.Skip != want["SKIP"] ||
					got.Tests != want["PASS"]+want["FAIL"]+want["SKIP"] || got.Error+got.XFail+got.XPass != 0 {
					t.Errorf("run %d: got totals %+v, want go test -v's %d PASS, %d FAIL, %d SKIP", i+1, got, want["PASS"], want["FAIL"], want["SKIP"])
				}
				if got := findTest(t, bag, "TestFlaky").Status; got != run.wantFlaky {
					t.Errorf("run %d: got TestFlaky %s, want %s", i+1, got, run.wantFlaky)
				}
				if !strings.Contains(rep.stdout, "example.com/ponydemo") {
					t.Errorf("run %d: go test's own output not passed through; got stdout:\n%s", i+1, rep.stdout)
				}
			}
			// The server's history of the flaky test: a failure, then a pass.
			var hist struct {
				Verdicts []struct {
					Status pony.Status `json:"status"`
				} `json:"verdicts"`
			}
			getJSON(t, srv.URL+"/api/v1/packages/"+pkg+"/tests/history?suite="+url.QueryEscape("example.com/ponydemo")+"&name=TestFlaky", http.StatusOK, &hist)
			var got []pony.Status
			for _, v := range hist.Verdicts {
				got = append(got, v.Status)
			}
			if want := []pony.Status{pony.StatusPass, pony.StatusFail}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("TestFlaky's history (newest first): got %v, want %v", got, want)
			}
		})
	}
}

var gotestsumDone = regexp.MustCompile(`(?m)^DONE (?:(\d+) runs, )?(\d+) tests?(?:, (\d+) skipped)?(?:, (\d+) failures?)?(?:, (\d+) errors?)? in `)

// TestGotestsum runs examples/go under `gotestsum --rerun-fails` through
// pony-report, which reads gotestsum's --jsonfile: TestFlaky's rerun is a
// second attempt that passes, a retry flake the server ranks as flaky.
func TestGotestsum(t *testing.T) {
	t.Parallel()
	goBin := needTool(t, "go")
	srv := startServer(t, "")
	const pkg = "e2e-gotestsum"
	gotestsum := []string{"run", "gotest.tools/gotestsum@v1.13.0", "--rerun-fails", "--packages", "./...", "--jsonfile", "gotestsum.json"}
	own := runProgram(t, goBin, invocation{dir: copyExample(t, "go"), args: gotestsum, env: map[string]string{"PONYDEMO_STATE": t.TempDir()}})
	rep := runReport(t, invocation{
		dir:  copyExample(t, "go"),
		args: reportRun(t, srv, pkg, append([]string{"--gotest", "gotestsum.json", "--", "go"}, gotestsum...)...),
		env:  map[string]string{"PONYDEMO_STATE": t.TempDir()},
	})
	if own.code != 1 { // TestMeanNegative fails on every run
		t.Fatalf("gotestsum exited %d, want 1:\n%s\n%s", own.code, own.stdout, own.stderr)
	}
	if rep.code != own.code {
		t.Fatalf("pony-report exited %d, want gotestsum's %d:\n%s\n%s", rep.code, own.code, rep.stdout, rep.stderr)
	}
	dones := gotestsumDone.FindAllStringSubmatch(own.stdout, -1)
	if len(dones) == 0 {
		t.Fatalf("no DONE line in gotestsum's output:\n%s", own.stdout)
	}
	// The last DONE line counts every run: entries (attempts), skips, failures.
	m := dones[len(dones)-1]
	n := func(s string) int {
		if s == "" {
			return 0
		}
		return atoi(t, s)
	}
	checkResults(t, srv, pkg, 1)
	bag := latest(t, srv, pkg)
	all := testsOf(bag)
	byStatus := countStatus(all)
	if len(all) != n(m[2]) || byStatus[pony.StatusSkip] != n(m[3]) || byStatus[pony.StatusFail] != n(m[4]) || byStatus[pony.StatusError] != n(m[5]) {
		t.Errorf("got %d test entries (%v), want gotestsum's %q", len(all), byStatus, m[0])
	}
	tot := bag.Totals()
	if tot.Flaky != 1 || tot.Fail != 1 || tot.Attempts != len(all) {
		t.Errorf("got totals %+v, want 1 retry flake (TestFlaky) and 1 failure (TestMeanNegative)", tot)
	}
	if f := findTest(t, bag, "TestFlaky"); f.Status != pony.StatusPass || f.Attempt != 2 {
		t.Errorf("got TestFlaky's last entry %s in attempt %d, want pass in attempt 2", f.Status, f.Attempt)
	}
	var flaky struct {
		Tests []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"tests"`
	}
	getJSON(t, srv.URL+"/api/v1/packages/"+pkg+"/flaky", http.StatusOK, &flaky)
	if len(flaky.Tests) != 1 || flaky.Tests[0].Name != "TestFlaky" || flaky.Tests[0].State != "flaky" {
		t.Errorf("got flaky tests %+v, want TestFlaky, flaky", flaky.Tests)
	}
}

var (
	pytestSummary = regexp.MustCompile(`(?m)^=+ (.+) in [\d.]+s(?: \([^)]*\))? =+$`)
	pytestCount   = regexp.MustCompile(`(\d+) (\w+)`)
)

// pytestCounts parses pytest's last line: "1 failed, 5 passed, 1 skipped,
// 1 xfailed in 0.03s", with plurals made singular ("errors" → "error").
func pytestCounts(t testing.TB, out string) map[string]int {
	t.Helper()
	m := pytestSummary.FindAllStringSubmatch(out, -1)
	if len(m) == 0 {
		t.Fatalf("no summary line in pytest's output:\n%s", out)
	}
	n := map[string]int{}
	for _, c := range pytestCount.FindAllStringSubmatch(m[len(m)-1][1], -1) {
		n[strings.TrimSuffix(c[2], "s")] += atoi(t, c[1])
	}
	return n
}

// TestPytest runs examples/pytest through pony-report run three ways:
// with `--junit report.xml -- pytest --junitxml=report.xml`; with the
// report named by pytest's flag alone; and as plain `pytest`, to which
// pony-report adds a --junitxml of its own. The tests come from the JUnit
// file read after pytest exits, and their counts are pytest's.
func TestPytest(t *testing.T) {
	t.Parallel()
	pytest := needTool(t, "pytest")
	srv := startServer(t, "")
	args := []string{"-o", "junit_family=xunit2", "--junitxml=report.xml", "tests"}
	own := runProgram(t, pytest, invocation{dir: copyExample(t, "pytest"), args: args})
	if own.code != 1 {
		t.Fatalf("pytest exited %d, want 1 (a test fails on purpose):\n%s", own.code, own.stdout)
	}
	want := pytestCounts(t, own.stdout)
	for _, tc := range []struct {
		pkg  string
		args []string
	}{
		{"e2e-pytest", append([]string{"--junit", "report.xml", "--", "pytest"}, args...)},
		{"e2e-pytest-named", append([]string{"--", "pytest"}, args...)},
		{"e2e-pytest-added", []string{"--", "pytest", "-o", "junit_family=xunit2", "tests"}},
	} {
		rep := runReport(t, invocation{dir: copyExample(t, "pytest"), args: reportRun(t, srv, tc.pkg, tc.args...)})
		if rep.code != own.code {
			t.Fatalf("%s: pony-report exited %d, want pytest's %d:\n%s\n%s", tc.pkg, rep.code, own.code, rep.stdout, rep.stderr)
		}
		if got := pytestCounts(t, rep.stdout); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: pytest's summary through pony-report: got %v, want %v as run alone", tc.pkg, got, want)
		}
		checkResults(t, srv, tc.pkg, 1)
		got := latest(t, srv, tc.pkg).Totals()
		if got.Pass != want["passed"] || got.Fail != want["failed"] || got.Error != want["error"] || got.Skip != want["skipped"] ||
			got.XFail != want["xfailed"] || got.XPass != want["xpassed"] ||
			got.Tests != want["passed"]+want["failed"]+want["error"]+want["skipped"]+want["xfailed"]+want["xpassed"] {
			t.Errorf("%s: got totals %+v, want pytest's %v", tc.pkg, got, want)
		}
	}
}

var (
	proveFile    = regexp.MustCompile(`^(\S+\.t) \.+ ?`)
	proveFailed  = regexp.MustCompile(`^Failed (\d+)/(\d+) subtests`)
	proveSummary = regexp.MustCompile(`(?m)^Files=(\d+), Tests=(\d+),`)
)

// proveCounts is what prove -v says: the number of files and test points,
// and, per failing file, "Failed N/M subtests".
type proveCounts struct {
	files, tests int
	failed       map[string][2]int // file → N failed of M
}

func parseProve(t testing.TB, out string) proveCounts {
	t.Helper()
	m := proveSummary.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no Files=, Tests= line in prove's output:\n%s", out)
	}
	c := proveCounts{files: atoi(t, m[1]), tests: atoi(t, m[2]), failed: map[string][2]int{}}
	file := ""
	for _, line := range strings.Split(out, "\n") {
		if m := proveFile.FindStringSubmatch(line); m != nil {
			file = m[1]
		}
		if m := proveFailed.FindStringSubmatch(line); m != nil {
			c.failed[file] = [2]int{atoi(t, m[1]), atoi(t, m[2])}
		}
	}
	return c
}

// TestProve runs examples/prove through `pony-report run -- prove -v t/`:
// TAP in the stream, with Test::More subtests, SKIP and TODO. prove counts
// top-level test points only, so the bag's top-level tests are compared.
func TestProve(t *testing.T) {
	t.Parallel()
	prove := needTool(t, "prove")
	srv := startServer(t, "")
	const pkg = "e2e-prove"
	own := runProgram(t, prove, invocation{dir: copyExample(t, "prove"), args: []string{"-v", "t/"}})
	rep := runReport(t, invocation{dir: copyExample(t, "prove"), args: reportRun(t, srv, pkg, "--", "prove", "-v", "t/")})
	if own.code != 1 {
		t.Fatalf("prove exited %d, want 1 (a test fails on purpose):\n%s", own.code, own.stdout)
	}
	if rep.code != own.code {
		t.Fatalf("pony-report exited %d, want prove's %d:\n%s\n%s", rep.code, own.code, rep.stdout, rep.stderr)
	}
	want := parseProve(t, own.stdout)
	if got := parseProve(t, rep.stdout); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("prove's summary through pony-report: got %+v, want %+v as run alone", got, want)
	}
	checkResults(t, srv, pkg, 1)
	top := topLevel(testsOf(latest(t, srv, pkg)))
	perFile := map[string][]pony.TestResult{}
	for _, tr := range top {
		perFile[tr.Suite] = append(perFile[tr.Suite], tr)
	}
	var names []string
	for _, tr := range top {
		names = append(names, tr.Suite+": "+tr.Name)
	}
	if len(perFile) != want.files || len(top) != want.tests {
		t.Errorf("got %d files and %d top-level tests %q, want prove's Files=%d, Tests=%d", len(perFile), len(top), names, want.files, want.tests)
	}
	for file, tests := range perFile {
		n := countStatus(tests)
		failed := n[pony.StatusFail] + n[pony.StatusError]
		if w, ok := want.failed[file]; ok {
			if failed != w[0] || len(tests) != w[1] {
				t.Errorf("%s: got %d failed of %d top-level tests, want prove's Failed %d/%d", file, failed, len(tests), w[0], w[1])
			}
		} else if failed != 0 {
			t.Errorf("%s: got %d failed tests, want none (prove passed the file)", file, failed)
		}
	}
	if len(want.failed) == 0 {
		t.Errorf("no \"Failed N/M subtests\" line in prove's output, want one for t/basic.t:\n%s", own.stdout)
	}
}

var nodeCount = regexp.MustCompile(`(?m)^# (tests|suites|pass|fail|cancelled|skipped|todo) (\d+)$`)

// TestNode runs examples/node through `pony-report run -- node --test
// --test-reporter=tap test/`: node's TAP 13 with YAML diagnostics, a
// describe suite, skip and todo.
func TestNode(t *testing.T) {
	t.Parallel()
	node := needTool(t, "node")
	srv := startServer(t, "")
	const pkg = "e2e-node"
	args := []string{"--test", "--test-reporter=tap", "test/"}
	own := runProgram(t, node, invocation{dir: copyExample(t, "node"), args: args})
	rep := runReport(t, invocation{dir: copyExample(t, "node"), args: reportRun(t, srv, pkg, append([]string{"--", "node"}, args...)...)})
	if own.code != 1 {
		t.Fatalf("node exited %d, want 1 (a test fails on purpose):\n%s", own.code, own.stdout)
	}
	if rep.code != own.code {
		t.Fatalf("pony-report exited %d, want node's %d:\n%s\n%s", rep.code, own.code, rep.stdout, rep.stderr)
	}
	counts := func(out string) map[string]int {
		n := map[string]int{}
		for _, m := range nodeCount.FindAllStringSubmatch(out, -1) {
			n[m[1]] = atoi(t, m[2])
		}
		if len(n) != 7 {
			t.Fatalf("got node's counts %v, want tests, suites, pass, fail, cancelled, skipped and todo in:\n%s", n, out)
		}
		return n
	}
	want := counts(own.stdout)
	if got := counts(rep.stdout); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("node's counts through pony-report: got %v, want %v as run alone", got, want)
	}
	checkResults(t, srv, pkg, 1)
	got := latest(t, srv, pkg).Totals()
	// node counts a todo test as todo whatever its outcome; a cancelled one
	// is a failure.
	if got.Tests != want["tests"] || got.Pass != want["pass"] || got.Fail+got.Error != want["fail"]+want["cancelled"] ||
		got.Skip != want["skipped"] || got.XFail+got.XPass != want["todo"] {
		t.Errorf("got totals %+v, want node's %v (suites are not tests)", got, want)
	}
}
