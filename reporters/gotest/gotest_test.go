package gotest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/internal/testenv"
	"github.com/pony-build/pony/reporters/gotest"
)

// testdata is where the real inputs (made by ../testdata/gotest/generate.sh) live.
const testdata = "../testdata/gotest"

func parseFile(t *testing.T, name string, cfg gotest.Config) (*pony.Step, error) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testdata, name))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.File == "" {
		cfg.File = name
	}
	return gotest.Parse(context.Background(), bytes.NewReader(data), cfg)
}

// find returns the entry for suite/name at attempt (0: the only one).
func find(t *testing.T, s *pony.Step, suite, name string, attempt int) pony.TestResult {
	t.Helper()
	var found []pony.TestResult
	for _, r := range s.Tests {
		if r.Name == name && (suite == "" || r.Suite == suite) && (attempt == 0 || r.AttemptNumber() == attempt) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("entries for %s %s attempt %d: got %d, want 1", suite, name, attempt, len(found))
	}
	return found[0]
}

// want is what one entry must hold; empty fields are not checked, and
// message must be a substring of the entry's message.
type want struct {
	suite, name string
	attempt     int
	status      pony.Status
	message     string
	noMessage   bool
	file        string
	line        int
	props       map[string]string
	duration    float64
}

func TestParseRealOutput(t *testing.T) {
	tests := []struct {
		file    string
		totals  pony.Totals
		entries []want
	}{
		{
			file:   "everyday.json",
			totals: pony.Totals{Tests: 20, Pass: 10, Fail: 8, Skip: 2, Attempts: 20},
			entries: []want{
				{name: "TestFailing", status: pony.StatusFail, file: "calc_test.go", line: 17,
					message: "calc_test.go:20: Add(1, 1): got 2, want 3\ncalc_test.go:22: second problem:\n    line one\n    line two"},
				{name: "TestSkipped", status: pony.StatusSkip, message: `calc_test.go:26: needs a database (set DB_URL="")`, file: "calc_test.go", line: 26},
				{name: "TestSkipNow", status: pony.StatusSkip, noMessage: true},
				{name: "TestAttrs", status: pony.StatusPass, props: map[string]string{"owner": "calc-team", "issue": "PONY-42"}},
				{name: "TestAttrs/sub", status: pony.StatusPass, props: map[string]string{"kind": "subtest"}},
				{name: "TestNested/2+3/deeper", status: pony.StatusFail, message: "calc_test.go:46: got 5, want 4"},
				{name: "TestNested", status: pony.StatusFail, message: "failed subtest: TestNested/2+3"},
				{name: "TestParallel/two", status: pony.StatusFail, message: "two is unlucky", duration: 0.01},
				{name: "TestHelperFailure", status: pony.StatusFail, message: "calc_test.go:67: got 1, want 2"},
				{name: "ExampleAdd", status: pony.StatusPass},
				{name: "ExampleDiv", status: pony.StatusFail, message: "got:\n3\nwant:\n3.5"},
			},
		},
		{
			file:   "testmain_exit.json",
			totals: pony.Totals{Tests: 3, Pass: 2, Error: 1, Attempts: 3},
			entries: []want{{suite: "example.com/testmain", name: gotest.PackageEntry, status: pony.StatusError,
				message: "teardown: could not drop the test database"}},
		},
		{
			file:   "panic_in_init.json",
			totals: pony.Totals{Tests: 1, Error: 1, Attempts: 1},
			entries: []want{{name: gotest.PackageEntry, status: pony.StatusError,
				message: "panic: init: missing configuration", file: "p_test.go", line: 5}},
		},
		{
			file:   "panic_in_test.json",
			totals: pony.Totals{Tests: 3, Pass: 1, Fail: 2, Attempts: 3},
			entries: []want{
				{name: "TestPanics", status: pony.StatusFail, message: "panic: assignment to entry in nil map", file: "p_test.go", line: 10},
				{name: "TestPanics/inner", status: pony.StatusFail, message: "panic: assignment to entry in nil map"},
			},
		},
		{
			file:   "timeout.json",
			totals: pony.Totals{Tests: 2, Pass: 1, Fail: 1, Attempts: 2},
			entries: []want{{name: "TestSleepy", status: pony.StatusFail,
				message: "panic: test timed out after 2s", file: "t_test.go", line: 11}},
		},
		{
			file:   "count3.json",
			totals: pony.Totals{Tests: 3, Pass: 3, Flaky: 1, Attempts: 9},
			entries: []want{
				{name: "TestFlakyOnce", attempt: 1, status: pony.StatusFail, message: "first run fails (run 1)"},
				{name: "TestFlakyOnce", attempt: 2, status: pony.StatusPass},
				{name: "TestFlakyOnce", attempt: 3, status: pony.StatusPass},
				{name: "TestSteady/sub", attempt: 3, status: pony.StatusPass},
			},
		},
		{
			file:   "gotestsum_rerun_fails.json",
			totals: pony.Totals{Tests: 3, Pass: 2, Fail: 1, Flaky: 1, Attempts: 6},
			entries: []want{
				{name: "TestFlaky", attempt: 1, status: pony.StatusFail, message: "flaky: first attempt fails"},
				{name: "TestFlaky", attempt: 2, status: pony.StatusPass},
				{name: "TestAlwaysFails", attempt: 3, status: pony.StatusFail, message: "broken for good"},
			},
		},
		{
			file:   "bench.json",
			totals: pony.Totals{Tests: 6, Pass: 4, Fail: 1, Skip: 1, Attempts: 6},
			entries: []want{
				{name: "BenchmarkJoin", status: pony.StatusPass, props: map[string]string{"iterations": "1", "ns/op": "1162", "B/op": "16", "allocs/op": "1"}},
				{name: "BenchmarkSizes/xxxx", status: pony.StatusPass, props: map[string]string{"items/op": "10.00"}},
				{name: "BenchmarkBroken", status: pony.StatusFail, message: "benchmark setup failed"},
				{name: "BenchmarkSkipped", status: pony.StatusSkip, message: "needs a GPU"},
			},
		},
	}
	for _, f := range []string{"build_failed.json", "build_failed_merged.json", "build_failed_text.json"} {
		tests = append(tests, struct {
			file    string
			totals  pony.Totals
			entries []want
		}{
			file:   f,
			totals: pony.Totals{Tests: 3, Pass: 1, Error: 2, Attempts: 3},
			entries: []want{
				{suite: "example.com/buildfail/bad", name: gotest.BuildEntry, status: pony.StatusError, file: "bad/b_test.go", line: 6,
					message: "build failed:\nbad/b_test.go:6:17: cannot use N (variable of type int) as string value in variable declaration\nbad/b_test.go:7:6: undefined: undefinedThing"},
				{suite: "example.com/buildfail/setup", name: gotest.BuildEntry, status: pony.StatusError, message: "setup failed:\nsetup/s_test.go:6:2: module example.com/buildfail/doesnotexist"},
				{suite: "example.com/buildfail/good", name: "TestGood", status: pony.StatusPass},
			},
		})
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			s, err := parseFile(t, tc.file, gotest.Config{OutputCap: 64 << 10})
			if err != nil {
				t.Fatalf("Parse: got error %v, want none", err)
			}
			if s.Incomplete {
				t.Errorf("Incomplete: got true, want false")
			}
			if got := s.Totals(); got != tc.totals {
				t.Errorf("totals: got %+v, want %+v", got, tc.totals)
			}
			for _, w := range tc.entries {
				r := find(t, s, w.suite, w.name, w.attempt)
				if r.Status != w.status {
					t.Errorf("%s: status: got %q, want %q", w.name, r.Status, w.status)
				}
				if !strings.Contains(r.Message, w.message) {
					t.Errorf("%s: message: got %q, want it to hold %q", w.name, r.Message, w.message)
				}
				if w.noMessage && r.Message != "" {
					t.Errorf("%s: message: got %q, want none", w.name, r.Message)
				}
				if w.file != "" && (r.File != w.file || r.Line != w.line) {
					t.Errorf("%s: location: got %s:%d, want %s:%d", w.name, r.File, r.Line, w.file, w.line)
				}
				for k, v := range w.props {
					if r.Properties[k] != v {
						t.Errorf("%s: property %s: got %q, want %q", w.name, k, r.Properties[k], v)
					}
				}
				if w.duration != 0 && r.Duration != w.duration {
					t.Errorf("%s: duration: got %v, want %v", w.name, r.Duration, w.duration)
				}
				if r.Status == pony.StatusPass && r.Output != "" {
					t.Errorf("%s: output of a passing test: got %q, want it dropped", w.name, r.Output)
				}
			}
		})
	}
}

func TestParseKeepsNonJSONLinesAsOutput(t *testing.T) {
	s, err := parseFile(t, "build_failed_merged.json", gotest.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "go: finding module for package example.com/buildfail/doesnotexist\n"; !strings.HasPrefix(s.Output, want) {
		t.Errorf("step output: got %q, want it to start with %q", s.Output, want)
	}
}

func TestParseKeepPassingOutput(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(strconv.FormatBool(keep), func(t *testing.T) {
			s, err := parseFile(t, "everyday.json", gotest.Config{KeepPassingOutput: keep})
			if err != nil {
				t.Fatal(err)
			}
			r := find(t, s, "", "TestPassing", 0)
			want := ""
			if keep {
				want = "    calc_test.go:10: all good\n--- PASS: TestPassing (0.00s)\n"
			}
			if r.Output != want {
				t.Errorf("output: got %q, want %q", r.Output, want)
			}
		})
	}
}

func TestParseCapsOutput(t *testing.T) {
	s, err := parseFile(t, "timeout.json", gotest.Config{OutputCap: 200, StepOutputCap: 30})
	if err != nil {
		t.Fatal(err)
	}
	r := find(t, s, "", "TestSleepy", 0)
	if len(r.Output) > 200 || len(r.Message) > 200 {
		t.Errorf("output and message: got %d and %d bytes, want ≤ 200", len(r.Output), len(r.Message))
	}
	if !strings.Contains(r.Output, "bytes cut") || !strings.HasSuffix(r.Output, "testing.go:2101 +0x4c5\n") {
		t.Errorf("output: got %q, want its tail behind a cut marker", r.Output)
	}
	if len(s.Output) > 30 || !strings.HasSuffix(s.Output, "2.007s\n") || !strings.Contains(s.Output, "bytes cut") {
		t.Errorf("step output: got %q, want ≤ 30 bytes: a cut marker and the tail of the package verdict", s.Output)
	}
}

// TestParseDornyFixture compares with the counts dorny/test-reporter
// rendered for the same input (golang-json.md), read in place.
func TestParseDornyFixture(t *testing.T) {
	dir := sharedFixtures(t)
	if dir == "" {
		return
	}
	in := filepath.Join(dir, "gotest", "dorny", "golang-json.json")
	data, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "gotest", "dorny", "golang-json.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`\*\*(\d+)\*\* tests were completed in \*\*\S+\*\* with \*\*(\d+)\*\* passed, \*\*(\d+)\*\* failed and \*\*(\d+)\*\* skipped`).FindSubmatch(md)
	if m == nil {
		t.Fatalf("golang-json.md: no counts line")
	}
	atoi := func(b []byte) int { n, _ := strconv.Atoi(string(b)); return n }
	s, err := gotest.Parse(context.Background(), bytes.NewReader(data), gotest.Config{File: in})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Totals()
	if got.Tests != atoi(m[1]) || got.Pass != atoi(m[2]) || got.Fail+got.Error != atoi(m[3]) || got.Skip != atoi(m[4]) {
		t.Errorf("totals: got %+v, want %s tests, %s passed, %s failed, %s skipped", got, m[1], m[2], m[3], m[4])
	}
	// dorny shows these messages under the failed tests.
	for name, msg := range map[string]string{
		"TestFailing":             "calculator_test.go:19: expected 1+1 = 3, got 2",
		"TestPanicInsideFunction": "calculator_test.go:76: caught panic: runtime error: integer divide by zero",
		"TestCases/2_+_3_=_4":     "calculator_test.go:67: expected 2 + 3 = 4, got 5",
		"TestSkipped":             "calculator_test.go:45: skipping test",
	} {
		if r := find(t, s, "", name, 0); r.Message != msg {
			t.Errorf("%s: message: got %q, want %q", name, r.Message, msg)
		}
	}
}

// sharedFixtures finds ../shared/fixtures beside the repository root, or
// "" when opted out (see testenv.SharedFixtures).
func sharedFixtures(t *testing.T) string {
	t.Helper()
	return testenv.SharedFixtures(t)
}

// TestParseTruncated cuts every real input at many offsets: the parse
// never panics, keeps every test that finished before the cut exactly as
// the full parse has it, and says the step is incomplete when the cut
// fell inside a package.
func TestParseTruncated(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testdata, "*.json"))
	var inputs []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".golden.json") {
			inputs = append(inputs, f)
		}
	}
	if len(inputs) < 10 {
		t.Fatalf("inputs: got %d, want ≥ 10", len(inputs))
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			full, err := gotest.Parse(context.Background(), bytes.NewReader(data), gotest.Config{})
			if err != nil {
				t.Fatal(err)
			}
			step := max(1, len(data)/40)
			for cut := 0; cut < len(data); cut += step {
				checkCut(t, data, cut, full)
			}
			// Every line end, for small inputs.
			if len(data) < 20000 {
				for i, b := range data {
					if b == '\n' {
						checkCut(t, data, i+1, full)
						checkCut(t, data, i, full)
					}
				}
			}
		})
	}
}

func checkCut(t *testing.T, data []byte, cut int, full *pony.Step) {
	t.Helper()
	part := data[:cut]
	s, err := gotest.Parse(context.Background(), bytes.NewReader(part), gotest.Config{File: "cut.json"})
	if s == nil {
		t.Fatalf("cut at %d: got a nil step (error %v), want a step", cut, err)
	}
	// A finished test is one whose verdict event is complete in part.
	finished := map[string]int{}
	for _, line := range bytes.Split(part, []byte("\n")) {
		for _, a := range []string{`"Action":"pass"`, `"Action":"fail"`, `"Action":"skip"`} {
			if bytes.Contains(line, []byte(a)) && bytes.Contains(line, []byte(`"Test":`)) && bytes.HasSuffix(bytes.TrimSpace(line), []byte("}")) && len(line) > 0 {
				finished[string(line)]++
			}
		}
	}
	got := map[string]pony.TestResult{}
	for _, r := range s.Tests {
		got[fmt.Sprintf("%s %s %d", r.Suite, r.Name, r.AttemptNumber())] = r
	}
	for _, r := range full.Tests {
		k := fmt.Sprintf("%s %s %d", r.Suite, r.Name, r.AttemptNumber())
		if g, ok := got[k]; ok && g.Status != r.Status && g.Status != pony.StatusError {
			t.Errorf("cut at %d: %s: status: got %q, want %q (or error)", cut, k, g.Status, r.Status)
		}
	}
	if len(s.Tests) < len(finished) {
		t.Errorf("cut at %d: entries: got %d, want ≥ %d finished tests", cut, len(s.Tests), len(finished))
	}
	if s.Incomplete {
		var ie *pony.InputError
		if !errors.As(err, &ie) || ie.File != "cut.json" || ie.Line < 1 && cut > 0 {
			t.Errorf("cut at %d: error: got %v, want an InputError naming cut.json and a line", cut, err)
		}
	} else if err != nil {
		t.Errorf("cut at %d: got error %v on a complete step", cut, err)
	}
}

func TestParseDamaged(t *testing.T) {
	const pass = `{"Action":"start","Package":"p"}
{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"    a_test.go:3: hello\n"}
{"Action":"pass","Package":"p","Test":"TestA","Elapsed":0.5}
`
	tests := []struct {
		name           string
		in             string
		wantErr        string // substring; "" for none
		wantIncomplete bool
		wantStatuses   string // "name=status ..." in order
		wantOutput     string // substring of the step output
	}{
		{name: "cut mid-event", in: pass + `{"Action":"run","Package":"p","Te`,
			wantErr: "cut.json:5: stream cut in the middle of an event", wantIncomplete: true, wantStatuses: "TestA=pass"},
		{name: "ended mid-test", in: pass + `{"Action":"run","Package":"p","Test":"TestB"}` + "\n" + `{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: working\n"}` + "\n",
			wantErr: "cut.json:6: stream ended before package p finished", wantIncomplete: true, wantStatuses: "TestA=pass TestB=error"},
		{name: "plain lines mixed in", in: "go: downloading example.com/x v1.0.0\n" + pass + "some stderr line\n{not json}\n" + `{"Action":"pass","Package":"p","Elapsed":1}`,
			wantStatuses: "TestA=pass", wantOutput: "go: downloading example.com/x v1.0.0\nsome stderr line\n{not json}\n"},
		{name: "crlf line ends", in: strings.ReplaceAll(pass+`{"Action":"pass","Package":"p","Elapsed":1}`+"\n", "\n", "\r\n"),
			wantStatuses: "TestA=pass"},
		{name: "no events", in: "hello\nworld\n", wantErr: "cut.json:2: no go test -json events found", wantIncomplete: true, wantOutput: "hello\nworld\n"},
		{name: "empty", in: "", wantErr: "no go test -json events found", wantIncomplete: true},
		{name: "missing run event", in: `{"Action":"output","Package":"p","Test":"TestZ","Output":"    z_test.go:1: no\n"}` + "\n" + `{"Action":"fail","Package":"p","Test":"TestZ"}` + "\n" + `{"Action":"fail","Package":"p"}` + "\n",
			wantStatuses: "TestZ=fail"},
		{name: "old go build failure line", in: "# p\n./x.go:3:1: syntax error\nFAIL\tp [build failed]\n",
			wantStatuses: "(build)=error", wantOutput: "FAIL\tp [build failed]"},
		{name: "a line over the reader's buffer", in: pass + `{"Action":"output","Package":"p","Output":"` + strings.Repeat("x", 100<<10) + `\n"}` + "\n" + `{"Action":"pass","Package":"p"}` + "\n",
			wantStatuses: "TestA=pass", wantOutput: "xxxx\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := gotest.Parse(context.Background(), strings.NewReader(tc.in), gotest.Config{File: "cut.json"})
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("error: got %v, want none", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error: got %v, want %q", err, tc.wantErr)
			}
			if s == nil {
				t.Fatal("step: got nil, want a step")
			}
			if s.Incomplete != tc.wantIncomplete {
				t.Errorf("Incomplete: got %v, want %v", s.Incomplete, tc.wantIncomplete)
			}
			var got []string
			for _, r := range s.Tests {
				got = append(got, r.Name+"="+string(r.Status))
			}
			if g := strings.Join(got, " "); g != tc.wantStatuses {
				t.Errorf("entries: got %q, want %q", g, tc.wantStatuses)
			}
			if !strings.Contains(s.Output, tc.wantOutput) {
				t.Errorf("step output: got %q, want it to hold %q", s.Output, tc.wantOutput)
			}
		})
	}
}

func TestParseContextCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	in := strings.Repeat(`{"Action":"output","Package":"p","Output":"x\n"}`+"\n", 10000)
	if _, err := gotest.Parse(ctx, strings.NewReader(in), gotest.Config{}); !errors.Is(err, context.Canceled) {
		t.Errorf("error: got %v, want context.Canceled", err)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		head string
		want int
	}{
		{"events", `{"Time":"2026-01-01T00:00:00Z","Action":"start","Package":"p"}` + "\n" + `{"Time":"2026-01-01T00:00:00Z","Action":"run","Package":"p","Test":"T"}` + "\n", 95},
		{"build output first", "go: downloading x v1\n# p\n" + `{"ImportPath":"p","Action":"build-output","Output":"x\n"}` + "\n" + `{"Action":"start","Package":"p"}`, 95},
		{"one event", `{"Action":"start","Package":"p"}`, 80},
		{"junit", `<?xml version="1.0"?><testsuites></testsuites>`, 0},
		{"tap", "TAP version 13\n1..1\nok 1 - x\n", 0},
		{"other json", `{"name":"x","tests":[]}`, 0},
		{"empty", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := gotest.Detect([]byte(tc.head)); got != tc.want {
				t.Errorf("Detect: got %d, want %d", got, tc.want)
			}
		})
	}
}
