package httpapi_test

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// envBag is a bag of package pkg from one environment (host, runtime) on
// branch main at commit, holding tests.
func envBag(pkg, host, runtime, commit string, tests ...pony.TestResult) *pony.Bag {
	return &pony.Bag{
		ClientInfo: pony.ClientInfo{Package: pkg, Host: host, Arch: "linux-amd64", Runtime: runtime, Tags: []string{"ci"}, Branch: "main", Commit: commit},
		Steps:      []pony.Step{{Type: "test", Name: "go test", Status: 1, Format: "gotest", Tests: tests}},
	}
}

func pass(suite, name string) pony.TestResult {
	return pony.TestResult{Suite: suite, Name: name, Status: pony.StatusPass}
}

func fail(suite, name string) pony.TestResult {
	return pony.TestResult{Suite: suite, Name: name, Status: pony.StatusFail, Message: "boom"}
}

// matrixAnswer is the JSON matrix as a client reads it.
type matrixAnswer struct {
	Package string   `json:"package"`
	RowKind string   `json:"row_kind"`
	Axes    []string `json:"axes"`
	Filter  string   `json:"filter"`
	Columns []struct {
		Label    string   `json:"label"`
		Values   []string `json:"values"`
		Expected []string `json:"expected"`
		Missing  bool     `json:"missing"`
		Reason   string   `json:"reason"`
	} `json:"columns"`
	Rows []struct {
		Suite string            `json:"suite"`
		Name  string            `json:"name"`
		Cells []aggregator.Cell `json:"cells"`
	} `json:"rows"`
}

func (m matrixAnswer) labels() []string {
	var out []string
	for _, c := range m.Columns {
		out = append(out, c.Label)
	}
	return out
}

// rowText writes each row as "suite name: status status …" (missing
// cells as "-", flaky ones with "~").
func (m matrixAnswer) rowText() []string {
	var out []string
	for _, r := range m.Rows {
		var cells []string
		for _, c := range r.Cells {
			s := string(c.Status)
			if c.Missing && s == "" {
				s = "-"
			}
			if c.Flaky {
				s += "~"
			}
			cells = append(cells, s)
		}
		out = append(out, strings.TrimSpace(r.Suite+" "+r.Name)+": "+strings.Join(cells, " "))
	}
	return out
}

func (f *fixture) matrix(pkg, query string) matrixAnswer {
	f.t.Helper()
	r := f.get("/api/v1/packages/" + url.PathEscape(pkg) + "/matrix?" + query)
	if r.Code != http.StatusOK {
		f.t.Fatalf("GET matrix?%s: got %d %s, want 200", query, r.Code, clipBody(r.Body))
	}
	var m matrixAnswer
	r.json(f.t, &m)
	return m
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The matrix through the API: columns ordered naturally, rows of tests or
// rolled-up suites, the filters, the text table, and clear errors.
func TestMatrixEndpoint(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	const pkg = "mx"
	// go1.10 reports first, then go1.9: the columns are still go1.9, go1.10.
	f.postBag(envBag(pkg, "h1", "go1.10", "c1", pass("a", "TestOne"), fail("a", "TestTwo"), pass("b", "TestThree")))
	*f.now = f.now.Add(time.Minute)
	f.postBag(envBag(pkg, "h1", "go1.9", "c1", pass("a", "TestOne"), pass("a", "TestTwo"), pass("b", "TestThree"), pass("b", "TestOnlyOld")))

	m := f.matrix(pkg, "rows=test&cols=runtime")
	if m.Package != pkg || m.RowKind != "test" || !equalStrings(m.Axes, []string{"runtime"}) || m.Filter != "all" {
		t.Errorf("got package %q rows %q axes %q filter %q, want %q test [runtime] all", m.Package, m.RowKind, m.Axes, m.Filter, pkg)
	}
	if got, want := m.labels(), []string{"go1.9", "go1.10"}; !equalStrings(got, want) {
		t.Errorf("columns: got %q, want %q", got, want)
	}
	want := []string{"a TestOne: pass pass", "a TestTwo: pass fail", "b TestOnlyOld: pass -", "b TestThree: pass pass"}
	if got := m.rowText(); !equalStrings(got, want) {
		t.Errorf("rows: got %q, want %q", got, want)
	}
	cell := m.Rows[1].Cells[1]
	if cell.ResultKey == "" || cell.Count != 1 || cell.Time.IsZero() || cell.Age != 60 || cell.Stale {
		t.Errorf("a TestTwo on go1.10: got %+v, want a result key, count 1, a time, age 60 s, not stale", cell)
	}

	m = f.matrix(pkg, "rows=test&cols=runtime&filter=differs")
	if got, want := m.rowText(), []string{"a TestTwo: pass fail"}; !equalStrings(got, want) {
		t.Errorf("filter=differs: got %q, want %q", got, want)
	}
	m = f.matrix(pkg, "cols=runtime&filter=failing")
	if got, want := m.rowText(), []string{"a: pass fail"}; !equalStrings(got, want) {
		t.Errorf("suites, filter=failing: got %q, want %q", got, want)
	}
	if c := m.Rows[0].Cells[1]; c.Tests != 2 || c.Failing != 1 {
		t.Errorf("suite a on go1.10: got %d tests, %d failing, want 2 and 1", c.Tests, c.Failing)
	}
	m = f.matrix(pkg, "cols=host")
	// go1.9 reported last, and TestTwo passed there; it fails on go1.10:
	// the column of both shows the worst, not the newest.
	if got, want := m.rowText(), []string{"a: fail", "b: pass"}; !equalStrings(got, want) {
		t.Errorf("one column for both runtimes of h1: got %q, want %q (the worst of the two runtimes' verdicts)", got, want)
	}
	if c := m.Rows[0].Cells[0]; c.Count != 4 || c.Tests != 2 || c.Failing != 1 {
		t.Errorf("suite a on h1: got count %d, %d tests, %d failing, want the 4 verdicts of 2 tests behind it, 1 failing", c.Count, c.Tests, c.Failing)
	}
	m = f.matrix(pkg, "rows=test&cols=host")
	if c := m.Rows[1].Cells[0]; m.Rows[1].Name != "TestTwo" || c.Status != "fail" || c.Envs != 2 || c.EnvsFailing != 1 {
		t.Errorf("a TestTwo on h1: got %s %+v, want fail, failing on 1 of 2 environments", m.Rows[1].Name, c)
	}
	// Default axes: every part of the environment.
	m = f.matrix(pkg, "")
	if got := m.labels(); len(got) != 2 || !strings.Contains(got[0], "go1.9") || !strings.Contains(got[0], "h1") {
		t.Errorf("default columns: got %q, want the two environments in full", got)
	}

	// Staleness is the Service's StaleAfter (24 h).
	*f.now = f.now.Add(25 * time.Hour)
	m = f.matrix(pkg, "rows=test&cols=runtime")
	if c := m.Rows[0].Cells[0]; !c.Stale {
		t.Errorf("after 25 h: got %+v, want stale", c)
	}

	// The text table for curl users.
	for _, h := range [][]string{{}, {"Accept: text/plain"}} {
		q := "rows=test&cols=runtime&filter=differs"
		if len(h) == 0 {
			q += "&format=text"
		}
		r := f.get("/api/v1/packages/"+pkg+"/matrix?"+q, h...)
		body := string(r.Body)
		if r.Code != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("text matrix %q: got %d %s %q, want 200 text/plain", h, r.Code, r.Header.Get("Content-Type"), body)
		}
		lines := strings.Split(body, "\n")
		if !regexpMatch(`^test\s+go1\.9\s+go1\.10\s*$`, lines[0]) || !regexpMatch(`^a TestTwo\s+pass\*\s+FAIL\*\s*$`, lines[1]) || !strings.Contains(body, "1 rows × 2 columns") {
			t.Errorf("text matrix: got\n%s\nwant a header of go1.9 and go1.10, then a TestTwo: pass* FAIL* (stale)", body)
		}
	}

	for _, tc := range []struct {
		query string
		code  int
		want  string
	}{
		{"rows=cases", 400, `rows must be suite or test, got "cases"`},
		{"cols=runtime,colour", 400, `unknown axis "colour"`},
		{"cols=", 400, "cols is empty"},
		{"cols=runtime,runtime", 400, "named twice"},
		{"cols=tag:[", 400, "bad glob"},
		{"filter=broken", 400, `filter must be all, failing, flaky or differs, got "broken"`},
		{"format=xml", 400, "format must be json or text"},
		{"colls=runtime", 400, `unknown query parameter "colls"`},
		{"rows=test&rows=suite", 400, "given 2 times"},
	} {
		r := f.get("/api/v1/packages/" + pkg + "/matrix?" + tc.query)
		if r.Code != tc.code || !strings.Contains(r.errorText(t), tc.want) {
			t.Errorf("matrix?%s: got %d %s, want %d saying %q", tc.query, r.Code, r.Body, tc.code, tc.want)
		}
	}
	// A package with no result and no expected environment: 404.
	if r := f.get("/api/v1/packages/nothing-here/matrix"); r.Code != 404 || !strings.Contains(r.errorText(t), `"nothing-here" has no results`) {
		t.Errorf("unknown package: got %d %s, want 404 saying it has no results", r.Code, r.Body)
	}
}

// A retry flake (fail, then pass on the rerun) makes the test flaky: the
// matrix marks its cell and the flaky ranking lists it with its signals.
func TestFlakyEndpoint(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	const pkg = "fl"
	retried := []pony.TestResult{
		{Suite: "s", Name: "TestFlaky", Status: pony.StatusFail, Attempt: 1, Message: "first attempt fails"},
		pass("s", "TestStable"),
		{Suite: "s", Name: "TestFlaky", Status: pony.StatusPass, Attempt: 2},
	}
	rec := f.postBag(envBag(pkg, "h1", "go1.22", "c1", retried...))
	f.postBag(envBag(pkg, "h2", "go1.22", "c1", pass("s", "TestFlaky"), pass("s", "TestStable")))

	r := f.get("/api/v1/packages/" + pkg + "/flaky")
	if r.Code != 200 {
		t.Fatalf("GET flaky: got %d %s, want 200", r.Code, r.Body)
	}
	var got struct {
		Package string                 `json:"package"`
		Tests   []aggregator.FlakyTest `json:"tests"`
	}
	r.json(t, &got)
	if got.Package != pkg || len(got.Tests) != 1 {
		t.Fatalf("got %s, want package %q with one flaky test", r.Body, pkg)
	}
	ft := got.Tests[0]
	if ft.Suite != "s" || ft.Name != "TestFlaky" || ft.State != aggregator.StateFlaky || ft.Score <= 0 || ft.FirstFlake.IsZero() || ft.LastFlake.IsZero() {
		t.Errorf("got %+v, want s TestFlaky, flaky, a positive score, first and last flake", ft)
	}
	if len(ft.Environments) != 1 || ft.Environments[0].Env.Host != "h1" || ft.Environments[0].ResultKey != rec.ResultKey ||
		ft.Environments[0].Assessment.RetryFlakes != 1 || len(ft.Environments[0].Assessment.Signals) == 0 {
		t.Errorf("environments: got %+v, want h1 only, from %s, with one retry flake and its signal", ft.Environments, rec.ResultKey)
	}
	m := f.matrix(pkg, "rows=test&cols=host&filter=flaky")
	if got, want := m.rowText(), []string{"s TestFlaky: pass~ pass"}; !equalStrings(got, want) {
		t.Errorf("matrix filter=flaky: got %q, want %q", got, want)
	}

	// Another branch has no flake.
	r = f.get("/api/v1/packages/" + pkg + "/flaky?branch=other")
	if r.Code != 200 || !strings.Contains(string(r.Body), `"tests":[]`) {
		t.Errorf("branch other: got %d %s, want 200 and no tests", r.Code, r.Body)
	}
	if r := f.get("/api/v1/packages/" + pkg + "/flaky?window=3"); r.Code != 400 || !strings.Contains(r.errorText(t), `unknown query parameter "window"`) {
		t.Errorf("unknown parameter: got %d %s, want 400", r.Code, r.Body)
	}
}

// GET /results/{key} holds the changes since the previous result of the
// environment beside the bag's keys.
func TestResultChanges(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	const pkg = "ch"
	first := f.postBag(envBag(pkg, "h1", "go1.22", "c1", pass("s", "TestA"), fail("s", "TestB"), pass("s", "TestGone")))
	*f.now = f.now.Add(time.Minute)
	second := f.postBag(envBag(pkg, "h1", "go1.22", "c2", fail("s", "TestA"), pass("s", "TestB"), pass("s", "TestNew")))

	type answer struct {
		pony.Bag
		Changes *aggregator.Changes `json:"changes"`
	}
	var a answer
	r := f.get("/api/v1/results/" + second.ResultKey)
	if r.Code != 200 {
		t.Fatalf("GET result: got %d %s", r.Code, r.Body)
	}
	r.json(t, &a)
	if a.Receipt == nil || a.Receipt.ResultKey != second.ResultKey || len(a.Steps) != 1 || a.ClientInfo.Package != pkg {
		t.Errorf("the bag's own keys: got %+v, want the stored bag", a.Bag)
	}
	ch := a.Changes
	if ch == nil {
		t.Fatalf("got %s, want a changes key", clipBody(r.Body))
	}
	refs := func(rs []aggregator.TestRef) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.Name)
		}
		return strings.Join(s, ",")
	}
	if ch.PreviousKey != first.ResultKey || refs(ch.NewlyFailing) != "TestA" || refs(ch.NewlyPassing) != "TestB" ||
		refs(ch.Vanished) != "TestGone" || refs(ch.New) != "TestNew" || ch.Infra {
		t.Errorf("changes: got %+v, want previous %s, newly failing TestA, newly passing TestB, vanished TestGone, new TestNew", ch, first.ResultKey)
	}
	// The JSON keys are the documented ones, lists never null.
	for _, k := range []string{`"newly_failing":[`, `"newly_passing":[`, `"newly_flaky":[`, `"vanished":[`, `"new":[`, `"previous_key":"` + first.ResultKey} {
		if !bytes.Contains(r.Body, []byte(k)) {
			t.Errorf("got %s, want it to hold %s", clipBody(r.Body), k)
		}
	}

	// The first result of an environment: everything is new.
	a = answer{}
	f.get("/api/v1/results/"+first.ResultKey).json(t, &a)
	if a.Changes == nil || a.Changes.PreviousKey != "" || len(a.Changes.New) != 3 {
		t.Errorf("first result: got %+v, want no previous key and 3 new tests", a.Changes)
	}
}

// The expected environments: GET and PUT (a write), checked, then shown
// missing in the tagsets and the matrix until they report.
func TestExpectedEndpoint(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	const pkg = "ex"
	base := "/api/v1/packages/" + pkg + "/expected"
	if r := f.get(base); r.Code != 200 || !strings.Contains(string(r.Body), `"expected":[]`) {
		t.Errorf("GET with none: got %d %s, want 200 and an empty list", r.Code, r.Body)
	}
	f.postBag(envBag(pkg, "h1", "go1.22", "c1", pass("s", "TestA"), fail("s", "TestB")))

	write, read := f.token(pkg, aggregator.ScopeWrite), f.token(pkg, aggregator.ScopeRead)
	other := f.token("other", aggregator.ScopeWrite)
	body := []byte(`{"expected": [
		{"name": "mac", "match": {"host": "mac-1", "arch": "darwin-arm64"}, "interval": "6h"},
		{"name": "linux", "match": {"host": "h1", "tags": ["ci"]}, "interval": "1h30m"},
		{"match": {"runtime": "go1.21"}}
	]}`)
	for _, tc := range []struct {
		header []string
		body   string
		code   int
		want   string
	}{
		{nil, string(body), 401, "a token is required"},
		{[]string{read}, string(body), 403, "may only read"},
		{[]string{other}, string(body), 403, `is for package "other"`},
		{[]string{write}, `{"expected": [{"match": {"hots": "x"}, "interval": "1h"}]}`, 400, `unknown field "hots"`},
		{[]string{write}, `{"expected": [{"match": {}, "interval": 3600}]}`, 400, `want a duration string`},
		{[]string{write}, `{"expected": [{"match": {}, "interval": "1 day"}]}`, 400, `"1 day"`},
		{[]string{write}, `{"expected": [{"name": "a", "match": {}}, {"name": "a", "match": {}}]}`, 400, `[1] ("a"): name is also the name of [0]`},
		{[]string{write}, `{"expected": [{"match": {"package": "zz"}}]}`, 400, `match.package is "zz"`},
		{[]string{write}, `{"package": "zz", "expected": []}`, 400, `body names package "zz"`},
		{[]string{write}, `{"expected": [`, 400, "line 1"},
		{[]string{write}, `{"expected": []} {}`, 400, "unexpected data after"},
	} {
		r := f.do(http.MethodPut, base, bytes.NewReader([]byte(tc.body)), tc.header...)
		if r.Code != tc.code || !strings.Contains(r.errorText(t), tc.want) {
			t.Errorf("PUT %.60s with %d headers: got %d %s, want %d saying %q", tc.body, len(tc.header), r.Code, r.Body, tc.code, tc.want)
		}
	}
	r := f.do(http.MethodPut, base, bytes.NewReader(body), write)
	if r.Code != 200 {
		t.Fatalf("PUT: got %d %s, want 200", r.Code, r.Body)
	}
	const wantList = `"expected":[{"name":"mac","match":{"host":"mac-1","arch":"darwin-arm64"},"interval":"6h0m0s"},{"name":"linux","match":{"host":"h1","tags":["ci"]},"interval":"1h30m0s"},{"match":{"runtime":"go1.21"},"interval":"24h0m0s"}]`
	for _, r := range []response{r, f.get(base)} {
		if r.Code != 200 || !strings.Contains(string(r.Body), wantList) {
			t.Errorf("got %d %s, want 200 and %s (an omitted interval is the server's stale-after)", r.Code, r.Body, wantList)
		}
	}
	// A bare array is taken too.
	if r := f.do(http.MethodPut, base, strings.NewReader(`[{"name": "mac", "match": {"host": "mac-1", "arch": "darwin-arm64"}, "interval": "6h"}, {"name": "linux", "match": {"host": "h1", "tags": ["ci"]}, "interval": "1h30m"}, {"match": {"runtime": "go1.21"}}]`), write); r.Code != 200 || !strings.Contains(string(r.Body), wantList) {
		t.Errorf("PUT a bare array: got %d %s, want 200 and the same list", r.Code, r.Body)
	}

	// The tagsets: the mac and go1.21 ones never reported; linux did.
	type tagsets struct {
		Tagsets  []aggregator.Tagset `json:"tagsets"`
		Expected []struct {
			Name        string          `json:"name"`
			Interval    string          `json:"interval"`
			SatisfiedBy *aggregator.Env `json:"satisfied_by"`
			Missing     bool            `json:"missing"`
			Reason      string          `json:"reason"`
		} `json:"expected"`
		Missing []string `json:"missing"`
	}
	var ts tagsets
	f.get("/api/v1/packages/"+pkg+"/tagsets").json(t, &ts)
	if len(ts.Tagsets) != 1 || len(ts.Expected) != 3 || !equalStrings(ts.Missing, []string{"mac", "runtime=go1.21"}) {
		t.Fatalf("tagsets: got %+v, want 1 tagset, 3 expected, missing mac and runtime=go1.21", ts)
	}
	if e := ts.Expected[1]; e.Name != "linux" || e.Missing || e.SatisfiedBy == nil || e.SatisfiedBy.Host != "h1" || e.Interval != "1h30m0s" {
		t.Errorf("linux: got %+v, want satisfied by h1", e)
	}
	if e := ts.Expected[0]; !e.Missing || e.Reason != "never reported" {
		t.Errorf("mac: got %+v, want missing: never reported", e)
	}
	m := f.matrix(pkg, "rows=test&cols=host")
	var missingCols []string
	for _, c := range m.Columns {
		if c.Missing {
			missingCols = append(missingCols, c.Label)
		}
	}
	if !equalStrings(missingCols, []string{"mac", "runtime=go1.21"}) && !equalStrings(missingCols, []string{"runtime=go1.21", "mac"}) {
		t.Errorf("matrix columns %q: got missing %q, want mac and runtime=go1.21", m.labels(), missingCols)
	}
	// Two hours on, linux (every 1h30m) has gone quiet too.
	*f.now = f.now.Add(2 * time.Hour)
	ts = tagsets{}
	f.get("/api/v1/packages/"+pkg+"/tagsets").json(t, &ts)
	if len(ts.Missing) != 3 || !strings.Contains(ts.Expected[1].Reason, "expected every 1h30m") {
		t.Errorf("after 2 h: got missing %q and linux %+v, want 3 missing, linux gone quiet", ts.Missing, ts.Expected[1])
	}
	m = f.matrix(pkg, "rows=test&cols=host")
	for _, c := range m.Columns {
		if c.Label == "h1" && !c.Missing {
			t.Errorf("after 2 h: column h1 %+v, want missing (linux gone quiet)", c)
		}
	}
}

// A package with expected environments and no result yet has a matrix:
// its expected columns, missing, and no rows.
func TestMatrixExpectedOnly(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	r := f.do(http.MethodPut, "/api/v1/packages/fresh/expected", strings.NewReader(`[{"name": "windows", "match": {"host": "w1"}}]`))
	if r.Code != 200 {
		t.Fatalf("PUT on an open server: got %d %s, want 200", r.Code, r.Body)
	}
	m := f.matrix("fresh", "cols=host")
	if len(m.Columns) != 1 || !m.Columns[0].Missing || m.Columns[0].Label != "windows" || m.Columns[0].Reason != "never reported" || len(m.Rows) != 0 {
		t.Errorf("got %+v, want one missing column windows (never reported) and no rows", m)
	}
	r = f.get("/api/v1/packages/fresh/matrix?cols=host&format=text")
	if !strings.Contains(string(r.Body), "windows [missing]") {
		t.Errorf("text: got %q, want the windows column marked missing", r.Body)
	}
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
