package tap_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/internal/benchgen"
	"github.com/pony-build/pony/reporters/tap"
)

// entry is the part of a test result the table tests check.
type entry struct {
	name   string
	status pony.Status
	msg    string
	file   string
	line   int
}

func entries(s *pony.Step) []entry {
	var out []entry
	for _, t := range s.Tests {
		out = append(out, entry{t.Suite + t.Name, t.Status, t.Message, t.File, t.Line})
	}
	return out
}

func TestParseConstructs(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		want       []entry
		incomplete bool
		wantErr    string // a substring of the error; "" for none
		errout     string // a substring of Step.Errout
		output     string // a substring of Step.Output
	}{
		{
			name: "tap12 leading plan, numbers, descriptions",
			in:   "1..3\nok 1 - first\nnot ok 2 - second\nok 3\n",
			want: []entry{{"first", "pass", "", "", 0}, {"second", "fail", "", "", 0}, {"#3", "pass", "", "", 0}},
		},
		{
			name: "trailing plan, no numbers",
			in:   "TAP version 13\nok\nok - b\nnot ok\n1..3\n",
			want: []entry{{"#1", "pass", "", "", 0}, {"b", "pass", "", "", 0}, {"#3", "fail", "", "", 0}},
		},
		{
			name: "skip and todo directives",
			in:   "1..5\nok 1 - a # SKIP no db\nnot ok 2 - b # skip\nnot ok 3 - c # TODO later\nok 4 - d # todo: fixed?\nok 5 - e \\# not a directive\n",
			want: []entry{{"a", "skip", "no db", "", 0}, {"b", "skip", "", "", 0}, {"c", "xfail", "later", "", 0},
				{"d", "xpass", "fixed?", "", 0}, {"e # not a directive", "pass", "", "", 0}},
		},
		{
			name:   "skip all",
			in:     "1..0 # SKIP no windows here\n",
			want:   nil,
			errout: "all tests skipped: no windows here",
		},
		{
			name: "yaml diagnostics: message, severity, at, data",
			in: "TAP version 13\n1..1\nnot ok 1 - equal\n  ---\n  message: 'should be equal'\n  severity: fail\n  found: 1\n  wanted: 2\n" +
				"  at:\n    file: test/a.js\n    line: 12\n    column: 3\n  data:\n    got: [1]\n  ...\n",
			want: []entry{{"equal", "fail", "should be equal", "test/a.js", 12}},
		},
		{
			name: "tape yaml: at in a stack frame, message from expected/actual",
			in:   "TAP version 13\nnot ok 1 should be equal\n  ---\n    operator: equal\n    expected: 2\n    actual:   1\n    at: Test.<anonymous> (/src/x.js:5:7)\n  ...\n1..1\n",
			want: []entry{{"should be equal", "fail", "expected: 2\nactual: 1", "/src/x.js", 5}},
		},
		{
			name: "node failure kinds: assertion fails, thrown error errs",
			in: "TAP version 13\nnot ok 1 - a\n  ---\n  failureType: 'testCodeFailure'\n  error: 'x'\n  code: 'ERR_ASSERTION'\n  ...\n" +
				"not ok 2 - b\n  ---\n  failureType: 'testCodeFailure'\n  error: 'boom'\n  code: 'ERR_TEST_FAILURE'\n  ...\n" +
				"not ok 3 - c\n  ---\n  failureType: 'hookFailure'\n  error: 'before failed'\n  ...\n1..3\n",
			want: []entry{{"a", "fail", "x", "", 0}, {"b", "error", "boom", "", 0}, {"c", "error", "before failed", "", 0}},
		},
		{
			name: "tap14 subtests with and without a comment",
			in: "TAP version 14\n# Subtest: outer\n    ok 1 - x\n    # Subtest: inner\n        ok 1 - y\n        1..1\n    ok 2 - inner\n    1..2\nok 1 - outer\n" +
				"    ok 1 - z\n    1..1\nok 2 - anon\n1..2\n",
			want: []entry{{"outer/x", "pass", "", "", 0}, {"outer/inner/y", "pass", "", "", 0}, {"outer/inner", "pass", "", "", 0},
				{"outer", "pass", "", "", 0}, {"anon/z", "pass", "", "", 0}, {"anon", "pass", "", "", 0}},
		},
		{
			name: "Test::More diagnostics give file and line",
			in:   "1..1\nnot ok 1 - sum\n#   Failed test 'sum'\n#   at t/sum.t line 7.\n#          got: '2'\n#     expected: '3'\n",
			want: []entry{{"sum", "fail", "Failed test 'sum'\nat t/sum.t line 7.\ngot: '2'\nexpected: '3'", "t/sum.t", 7}},
		},
		{
			name:       "bail out keeps what was read",
			in:         "1..4\nok 1 - a\nBail out! no database\nok 2 - never\n",
			want:       []entry{{"a", "pass", "", "", 0}},
			incomplete: true,
			errout:     "Bail out! no database",
		},
		{
			name:       "fewer tests than planned",
			in:         "1..5\nok 1\nok 2\nok 3\n",
			want:       []entry{{"#1", "pass", "", "", 0}, {"#2", "pass", "", "", 0}, {"#3", "pass", "", "", 0}},
			incomplete: true,
			wantErr:    "x.tap:4: the input ended after 3 of the 5 planned tests",
		},
		{
			name: "more tests than planned: every test kept, the plan fails",
			in:   "1..1\nok\nok\n",
			want: []entry{{"#1", "pass", "", "", 0}, {"#2", "pass", "", "", 0},
				{"(plan)", "error", "the input planned 1..1 on line 1, and ran 2 tests", "x.tap", 1}},
			errout: "x.tap:1: the input planned 1..1 on line 1, and ran 2 tests",
		},
		{
			name: "a test number outside the plan",
			in:   "1..3\nok 1\nok 2\nok 4\n",
			want: []entry{{"#1", "pass", "", "", 0}, {"#2", "pass", "", "", 0}, {"#4", "pass", "", "", 0},
				{"(plan)", "error", "test number 4 on line 4 is outside the plan 1..3 on line 1", "x.tap", 4}},
		},
		{
			name: "numbers outside a trailing plan, and a number 0",
			in:   "ok 0\nok 2\nok 9\n2..4\n",
			want: []entry{{"#1", "pass", "", "", 0}, {"#2", "pass", "", "", 0}, {"#9", "pass", "", "", 0},
				{"(plan)", "error", "test number 0 is outside the plan 2..4 on line 4\ntest number 9 is outside the plan 2..4 on line 4", "x.tap", 4}},
		},
		{
			name: "duplicate numbers fail the plan, out-of-order ones are reported",
			in:   "1..3\nok 1 - a\nok 1 - a\nok 3 - c\n",
			want: []entry{{"a", "pass", "", "", 0}, {"a #2", "pass", "", "", 0}, {"c", "pass", "", "", 0},
				{"(plan)", "error", "test number 1 on line 3 was seen before", "x.tap", 3}},
			errout: "x.tap:3: test number 1 out of order (want 2)",
		},
		{
			name: "tests after a trailing plan are kept, and fail the plan",
			in:   "ok 1\n1..1\nok 2\n",
			want: []entry{{"#1", "pass", "", "", 0}, {"#2", "pass", "", "", 0},
				{"(plan)", "error", "the test point on line 3 comes after the plan 1..1 on line 2\nthe input planned 1..1 on line 2, and ran 2 tests", "x.tap", 3}},
		},
		{
			name: "a test after a skip-all plan",
			in:   "1..0 # SKIP none\nok 1\n",
			want: []entry{{"#1", "pass", "", "", 0},
				{"(plan)", "error", "the test point on line 2 comes after the plan 1..0 (skip all) on line 1\nthe input planned 1..0 (skip all) on line 1, and ran 1 test", "x.tap", 2}},
		},
		{
			name: "a subtest's plan not met fails it",
			in:   "# Subtest: s\n    1..3\n    ok 1\n    ok 2\nok 1 - s\n1..1\n",
			want: []entry{{"s/#1", "pass", "", "", 0}, {"s/#2", "pass", "", "", 0},
				{"s/(plan)", "error", "subtest \"s\" ended after 2 of the 3 planned tests", "x.tap", 5}, {"s", "pass", "", "", 0}},
		},
		{
			name:   "non-TAP lines, comments and pragmas",
			in:     "starting up\nTAP version 13\npragma -strict\n# a comment\nok 1 - a\nsome output\n1..1\n",
			want:   []entry{{"a", "pass", "", "", 0}},
			output: "starting up\n# a comment\nsome output\n",
		},
		{
			name: "non-TAP lines under pragma +strict fail, in a subtest too",
			in: "TAP version 14\npragma +strict\nok 1 - a\nsome output\npragma -strict\nmore output\npragma +strict\n" +
				"# Subtest: s\n    garbage\n    ok 1 - b\n    1..1\nok 2 - s\n1..2\n",
			want: []entry{{"a", "pass", "", "", 0}, {"s/b", "pass", "", "", 0},
				{"s/(strict)", "error", "line 9 is not TAP, under pragma +strict: \"garbage\"", "x.tap", 9}, {"s", "pass", "", "", 0},
				{"(strict)", "error", "line 4 is not TAP, under pragma +strict: \"some output\"", "x.tap", 4}},
			output: "some output\nmore output\n    garbage\n",
		},
		{
			name: "strict: a version line that is not the first",
			in:   "pragma +strict\nTAP version 12\n1..1\nok 1\n",
			want: []entry{{"#1", "pass", "", "", 0},
				{"(strict)", "error", "line 2 is not TAP, under pragma +strict: \"TAP version 12\"", "x.tap", 2}},
		},
		{
			name: "buffered subtests, nested, with directives and diagnostics",
			in: "TAP version 14\nok 1 - outer {\n    1..2\n    ok 1 - first {\n        1..1\n        ok 1 - leaf\n    }\n\n    not ok 2 - second {\n        not ok 1 - bad\n        1..1\n    }\n}\n" +
				"ok 2 - todo # TODO later {\n    ok 1\n    1..1\n}\nok 3 - timed { # time=12.5ms\n    1..0\n}\n" +
				"ok 4 - with diagnostics\n  ---\n  note: x\n  ...\n{\n    ok 1 - inner\n    1..1\n}\nok 5 - empty {\n}\n1..5\n",
			want: []entry{{"outer/first/leaf", "pass", "", "", 0}, {"outer/first", "pass", "", "", 0},
				{"outer/second/bad", "fail", "", "", 0}, {"outer/second", "fail", "", "", 0}, {"outer", "pass", "", "", 0},
				{"todo/#1", "pass", "", "", 0}, {"todo", "xpass", "later", "", 0}, {"timed", "pass", "", "", 0},
				{"with diagnostics/inner", "pass", "", "", 0}, {"with diagnostics", "pass", "", "", 0}, {"empty", "pass", "", "", 0}},
		},
		{
			name: "a brace without a body is part of the name",
			in:   "1..2\nok 1 - parses {\nok 2 - a {b}\n",
			want: []entry{{"parses {", "pass", "", "", 0}, {"a {b}", "pass", "", "", 0}},
		},
		{
			name:   "a buffered body ended by a test point, not by its brace",
			in:     "ok 1 - a {\n    ok 1 - x\n    1..1\nok 2 - b\n1..2\n",
			want:   []entry{{"a/x", "pass", "", "", 0}, {"a", "pass", "", "", 0}, {"b", "pass", "", "", 0}},
			errout: "x.tap:1: buffered subtest \"a\" opened here is not closed with \"}\": line 4 is a test point at its parent's level; its plan was met",
		},
		{
			name:       "a buffered body cut by the end of the input",
			in:         "1..1\nok 1 - a {\n    1..2\n    ok 1 - x\n",
			want:       []entry{{"a/x", "pass", "", "", 0}, {"a", "pass", "", "", 0}},
			incomplete: true,
			wantErr:    "x.tap:2: buffered subtest \"a\" opened here is not closed with \"}\": the input ended",
		},
		{
			name:   "a subtest after the last test, its plan met",
			in:     "1..1\nok\n    # Subtest: late\n    1..1\n    ok\n",
			want:   []entry{{"#1", "pass", "", "", 0}, {"late/#1", "pass", "", "", 0}},
			errout: "x.tap:3: subtest \"late\" started here has no test point of its own (the input ended); its plan was met",
		},
		{
			name:       "no plan at all",
			in:         "ok 1 - a\nnot ok 2 - b\n",
			want:       []entry{{"a", "pass", "", "", 0}, {"b", "fail", "", "", 0}},
			incomplete: true,
			wantErr:    "without a plan",
		},
		{
			name: "prove -v sections name the suite",
			in:   "t/a.t .. \n1..1\nok 1 - x\nt/b.t .. \n1..1\nnot ok 1 - x\nFailed 1/1 subtests\n",
			want: []entry{{"t/a.tx", "pass", "", "", 0}, {"t/b.tx", "fail", "", "", 0}},
		},
		{
			name: "CRLF line ends",
			in:   "1..1\r\nok 1 - a\r\n",
			want: []entry{{"a", "pass", "", "", 0}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step, _, err := tap.Parse(context.Background(), strings.NewReader(tc.in), tap.Options{File: "x.tap"})
			if step == nil {
				t.Fatalf("got no step (error %v), want one", err)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("got error %v, want one containing %q", err, tc.wantErr)
			}
			if got, want := fmt.Sprintf("%+v", entries(step)), fmt.Sprintf("%+v", tc.want); got != want {
				t.Errorf("got tests\n%s\nwant\n%s", got, want)
			}
			if step.Incomplete != tc.incomplete {
				t.Errorf("got incomplete %v, want %v", step.Incomplete, tc.incomplete)
			}
			if !strings.Contains(step.Errout, tc.errout) {
				t.Errorf("got errout %q, want it to contain %q", step.Errout, tc.errout)
			}
			if !strings.Contains(step.Output, tc.output) {
				t.Errorf("got output %q, want it to contain %q", step.Output, tc.output)
			}
		})
	}
}

func TestNotTAP(t *testing.T) {
	step, _, err := tap.Parse(context.Background(), strings.NewReader("hello\nworld\n"), tap.Options{File: "x.txt"})
	var ie *pony.InputError
	if step != nil || !errors.As(err, &ie) {
		t.Fatalf("got step %v, error %v; want no step and an *pony.InputError", step, err)
	}
}

// TestTruncated cuts a real stream at every line and checks that the tests
// before the cut are kept, the step is incomplete, and the error names a
// line.
func TestTruncated(t *testing.T) {
	var full bytes.Buffer
	if err := benchgen.Generate("tap", &full, 60); err != nil {
		t.Fatal(err)
	}
	whole, _, err := tap.Parse(context.Background(), bytes.NewReader(full.Bytes()), tap.Options{File: "g.tap"})
	if err != nil {
		t.Fatalf("whole stream: got error %v, want none", err)
	}
	lines := bytes.SplitAfter(full.Bytes(), []byte("\n"))
	for cut := 1; cut < len(lines)-3; cut++ { // the last lines are the plan and a comment
		in := bytes.Join(lines[:cut], nil)
		step, _, err := tap.Parse(context.Background(), bytes.NewReader(in), tap.Options{File: "g.tap"})
		var ie *pony.InputError
		if !errors.As(err, &ie) || ie.Line < 1 || ie.File != "g.tap" {
			t.Fatalf("cut at line %d: got error %v, want an *pony.InputError with file and line", cut, err)
		}
		if step == nil || !step.Incomplete {
			t.Fatalf("cut at line %d: got step %v, want an incomplete step", cut, step)
		}
		// Every test committed before the cut is there, as in the whole parse.
		for i, got := range step.Tests {
			want := whole.Tests[i]
			if i == len(step.Tests)-1 && strings.HasPrefix(got.Name, "suite ") && got.Name != want.Name {
				// A suite's point cut before the YAML block that says
				// `type: 'suite'` is kept as a test: nothing says otherwise.
				continue
			}
			if got.Name != want.Name || got.Status != want.Status {
				t.Fatalf("cut at line %d: test %d: got %s %s, want %s %s", cut, i, got.Name, got.Status, want.Name, want.Status)
			}
		}
	}
}

// TestPassingOutputNotKept checks that passing tests' diagnostics are
// dropped unless asked for.
func TestPassingOutputNotKept(t *testing.T) {
	in := "TAP version 13\nok 1 - a\n  ---\n  note: chatty\n  ...\n# chatter\n1..1\n"
	for _, keep := range []bool{false, true} {
		step, _, err := tap.Parse(context.Background(), strings.NewReader(in), tap.Options{KeepPassingOutput: keep})
		if err != nil {
			t.Fatal(err)
		}
		got := step.Tests[0].Output != "" && step.Tests[0].Properties["note"] == "chatty"
		if got != keep {
			t.Errorf("KeepPassingOutput %v: got output %q, properties %v", keep, step.Tests[0].Output, step.Tests[0].Properties)
		}
	}
}

func TestOutputCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("1..1\n")
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&b, "noise line %d\n", i)
	}
	b.WriteString("ok 1\n")
	step, _, err := tap.Parse(context.Background(), strings.NewReader(b.String()), tap.Options{StepOutputCap: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(step.Output) > 1000 || !strings.HasSuffix(step.Output, "noise line 9999\n") {
		t.Errorf("got output of %d bytes ending %q, want at most 1000 ending with the last line", len(step.Output), step.Output[max(0, len(step.Output)-40):])
	}
}

func TestGeneratedCounts(t *testing.T) {
	var in bytes.Buffer
	if err := benchgen.Generate("tap", &in, 5000); err != nil {
		t.Fatal(err)
	}
	step, sum, err := tap.Parse(context.Background(), &in, tap.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(step.Tests); got != 5000 {
		t.Errorf("got %d tests, want 5000", got)
	}
	if sum.Plan == nil || sum.Plan.End != sum.Count {
		t.Errorf("got plan %+v for %d top-level tests, want 1..%d", sum.Plan, sum.Count, sum.Count)
	}
}

func FuzzTAP(f *testing.F) {
	for _, s := range []string{
		"TAP version 14\n1..2\nok 1 - a\nnot ok 2 - b # TODO x\n  ---\n  message: m\n  at:\n    file: f\n    line: 3\n  ...\n",
		"# Subtest: a\n    ok 1\n    1..1\nok 1 - a\n1..1\n",
		"1..0 # SKIP no\n",
		"ok 1\nBail out! x\n",
		"not ok 1 - a\n#   at t/x.t line 3.\n",
		"t/a.t .. \n1..1\nok 1\n",
		"ok 1 - a \\# b # skip c\n  ---\n  a: |\n    b\n  c: 'd'\n  ...\n",
		"TAP version 13\n# Subtest: a\nok 1 - a\n  ---\n  duration_ms: 0.5\n  ...\n# Subtest: s\n    # Subtest: b\n    ok 1 - b # SKIP x\n      ---\n      duration_ms: 1\n      ...\n    1..1\nok 2 - s\n  ---\n  duration_ms: 2\n  ...\n1..2\n",
		"TAP version 14\nok 1 - a {\n    ok 1 - b # TODO c {\n        1..0\n    }\n    1..1\n}\nok 2 - d\n  ---\n  e: f\n  ...\n{\n    not ok 1\n}\n1..2\n",
		"pragma +strict\n1..2\nok 1\nnoise\n    # Subtest: s\n    ok 3\nok 1\n1..1\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		sameParse(t, "fuzz input", in) // the fast path reads as the general one
		step, _, err := tap.Parse(context.Background(), bytes.NewReader(in), tap.Options{OutputCap: 100, StepOutputCap: 200})
		if step == nil && err == nil {
			t.Fatal("got no step and no error")
		}
		if step != nil {
			for _, r := range step.Tests {
				if r.Name == "" || !r.Status.Valid() {
					t.Fatalf("got test %+v, want a name and a valid status", r)
				}
			}
		}
	})
}

// BenchmarkTAP parses the generated 50,000-test TAP 13 stream; compare with
// BenchmarkBaselineLineScan in the same run:
//
//	go test -run='^$' -bench='TAP|BaselineLineScan' -benchmem ./reporters/tap
func BenchmarkTAP(b *testing.B) {
	in := generated(b)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	var n int
	for b.Loop() {
		step, _, err := tap.Parse(context.Background(), bytes.NewReader(in), tap.Options{})
		if err != nil {
			b.Fatal(err)
		}
		n = len(step.Tests)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tests/s")
}

// BenchmarkBaselineLineScan is the floor: a bufio.Scanner counting the
// same stream's lines.
func BenchmarkBaselineLineScan(b *testing.B) {
	in := generated(b)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		sc := bufioScanner(bytes.NewReader(in))
		lines := 0
		for sc.Scan() {
			lines++
		}
		if lines == 0 {
			b.Fatal("no lines")
		}
	}
}

var genCache []byte

func generated(b *testing.B) []byte {
	if genCache == nil {
		var buf bytes.Buffer
		if err := benchgen.Generate("tap", &buf, 50000); err != nil {
			b.Fatal(err)
		}
		genCache = buf.Bytes()
	}
	return genCache
}
