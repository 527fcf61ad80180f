package junit_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gojunit "github.com/joshdk/go-junit"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/junit"
)

// decodeStep reads a whole report into a step.
func decodeStep(t *testing.T, r io.Reader, opts junit.Options) (*pony.Step, error) {
	t.Helper()
	d := junit.NewDecoder(r, opts)
	s := &pony.Step{}
	for {
		tr, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return s, err
		}
		s.Tests = append(s.Tests, tr)
	}
	s.Output, s.Errout = d.SuiteOutput(), d.SuiteErrout()
	return s, nil
}

// goldenSteps loads the step of the bag of every golden file under reporters/testdata,
// whatever its format.
func goldenSteps(t *testing.T) map[string]*pony.Step {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot(t), "reporters", "testdata", "*", "*.golden.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files under reporters/testdata: %v", err)
	}
	steps := map[string]*pony.Step{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var g struct {
			Bag *pony.Bag `json:"bag"`
		}
		if err := json.Unmarshal(data, &g); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if g.Bag != nil && len(g.Bag.Steps) == 1 {
			r, _ := filepath.Rel(filepath.Join(repoRoot(t), "reporters", "testdata"), f)
			steps[filepath.ToSlash(r)] = &g.Bag.Steps[0]
		}
	}
	return steps
}

// TestWriteBagRoundTrip writes every golden step as a bag, reads it back
// with our decoder and with go-junit, and compares the totals.
func TestWriteBagRoundTrip(t *testing.T) {
	steps := goldenSteps(t)
	var junitSeen bool
	for name, step := range steps {
		junitSeen = junitSeen || strings.HasPrefix(name, "junit/")
		t.Run(name, func(t *testing.T) {
			bag := &pony.Bag{ClientInfo: pony.ClientInfo{Package: "roundtrip"}, Steps: []pony.Step{*step}}
			var buf bytes.Buffer
			if err := junit.WriteBag(&buf, bag); err != nil {
				t.Fatal(err)
			}
			back, err := decodeStep(t, bytes.NewReader(buf.Bytes()), junit.Options{File: "out.xml", OutputCap: -1})
			if err != nil {
				t.Fatalf("reading our own output: %v\n%s", err, buf.String())
			}
			want := step.Totals()
			if got := back.Totals(); got != want {
				t.Errorf("got totals %+v, want %+v", got, want)
			}
			if got, want := back.Output, step.Output; want != "" && !strings.Contains(got, strings.TrimSpace(want)) {
				t.Errorf("got step output %q, want it to hold %q", got, want)
			}

			suites, err := gojunit.IngestReader(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatalf("go-junit cannot read our output: %v", err)
			}
			// go-junit sees every <testcase>; a test written as several
			// (repeated passes) counts once, by its last one.
			last := map[[2]string]gojunit.Status{}
			var walk func([]gojunit.Suite)
			walk = func(ss []gojunit.Suite) {
				for _, s := range ss {
					for _, tc := range s.Tests {
						last[[2]string{tc.Classname, tc.Name}] = tc.Status
					}
					walk(s.Suites)
				}
			}
			walk(suites)
			var o gojunit.Totals
			for _, st := range last {
				o.Tests++
				switch st {
				case gojunit.StatusPassed:
					o.Passed++
				case gojunit.StatusSkipped:
					o.Skipped++
				case gojunit.StatusFailed:
					o.Failed++
				case gojunit.StatusError:
					o.Error++
				}
			}
			if o.Tests != want.Tests || o.Skipped != want.Skip+want.XFail || o.Passed != want.Pass+want.XPass || o.Failed+o.Error != want.Fail+want.Error {
				t.Errorf("go-junit reads tests=%d passed=%d skipped=%d failed+error=%d, want %d, %d, %d, %d",
					o.Tests, o.Passed, o.Skipped, o.Failed+o.Error, want.Tests, want.Pass+want.XPass, want.Skip+want.XFail, want.Fail+want.Error)
			}
		})
	}
	if !junitSeen {
		t.Error("no junit golden file was round-tripped")
	}
}

// TestWriteBagCases checks the writer on bags made to hold each status,
// rerun shape and awkward text.
func TestWriteBagCases(t *testing.T) {
	tests := []struct {
		name  string
		tests []pony.TestResult
		want  []string // substrings of the XML
	}{
		{
			name: "flaky pass",
			tests: []pony.TestResult{
				{Suite: "s", Name: "t", Status: pony.StatusFail, Attempt: 1, Message: "boom 1"},
				{Suite: "s", Name: "t", Status: pony.StatusError, Attempt: 2, Message: "boom 2"},
				{Suite: "s", Name: "t", Status: pony.StatusPass, Attempt: 3},
			},
			want: []string{`<flakyFailure message="boom 1">`, `<flakyError message="boom 2">`},
		},
		{
			name: "failing reruns",
			tests: []pony.TestResult{
				{Suite: "s", Name: "t", Status: pony.StatusFail, Attempt: 1, Message: "a"},
				{Suite: "s", Name: "t", Status: pony.StatusFail, Attempt: 2, Message: "b"},
			},
			want: []string{`<failure message="a">`, `<rerunFailure message="b">`},
		},
		{
			name:  "xfail and xpass",
			tests: []pony.TestResult{{Name: "xf", Status: pony.StatusXFail, Message: "bug 1"}, {Name: "xp", Status: pony.StatusXPass}},
			want:  []string{`<skipped type="pytest.xfail" message="bug 1"/>`, `<property name="pony.status" value="xpass"/>`},
		},
		{
			name:  "escaping",
			tests: []pony.TestResult{{Suite: `a"b`, Name: "<t>", Status: pony.StatusFail, Message: "x\ny & z", Output: "\x1b[31mred\x1b[0m\n"}},
			want:  []string{`classname="a&quot;b"`, `name="&lt;t&gt;"`, `message="x&#10;y &amp; z"`, "\uFFFD[31mred"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step := pony.Step{Name: "step", Tests: tc.tests}
			bag := &pony.Bag{ClientInfo: pony.ClientInfo{Package: "p"}, Steps: []pony.Step{step}}
			var buf bytes.Buffer
			if err := junit.WriteBag(&buf, bag); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("got XML without %q:\n%s", w, buf.String())
				}
			}
			back, err := decodeStep(t, &buf, junit.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := back.Totals(), step.Totals(); got != want {
				t.Errorf("got totals %+v, want %+v", got, want)
			}
			for i := range back.Tests {
				if i < len(tc.tests) && back.Tests[i].Message != tc.tests[i].Message {
					t.Errorf("entry %d: got message %q, want %q", i, back.Tests[i].Message, tc.tests[i].Message)
				}
			}
		})
	}
}
