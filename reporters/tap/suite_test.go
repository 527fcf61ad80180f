package tap_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/reporters/tap"
)

// suiteOf parses in with opts and returns its tests as "suite|name|status".
func suiteOf(t *testing.T, in string, opts tap.Options) []string {
	t.Helper()
	step, _, err := tap.Parse(context.Background(), strings.NewReader(in), opts)
	if step == nil {
		t.Fatalf("got no step (%v)", err)
	}
	var out []string
	for _, r := range step.Tests {
		out = append(out, r.Suite+"|"+r.Name+"|"+string(r.Status))
	}
	return out
}

// TestSuiteOption checks Options.Suite: the suite of the tests that have
// none of their own, as a file read gives its tests.
func TestSuiteOption(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opts tap.Options
		want []string
	}{
		{
			name: "every test takes it, subtests and the plan's entry too",
			in:   "1..2\nok 1 - a\n    ok 1 - x\n    1..1\nnot ok 2 - s\nok 3 - late\n",
			opts: tap.Options{File: "t/a.tap", Suite: "t/a.tap"},
			want: []string{"t/a.tap|a|pass", "t/a.tap|s/x|pass", "t/a.tap|s|fail", "t/a.tap|late|pass", "t/a.tap|(plan)|error"},
		},
		{
			name: "none by default, as for standard input",
			in:   "1..1\nok 1 - a\n",
			opts: tap.Options{File: "-"},
			want: []string{"|a|pass"},
		},
		{
			// prove -v sections keep their own suites; what comes before
			// the first takes the file's.
			name: "prove sections keep theirs",
			in:   "1..1\nok 1 - before\nt/a.t .. \n1..1\nok 1 - works\nok\nt/b.t .. \n1..1\nnot ok 1 - works\nFailed 1/1 subtests\n",
			opts: tap.Options{File: "prove.txt", Suite: "prove.txt"},
			want: []string{"prove.txt|before|pass", "t/a.t|works|pass", "t/b.t|works|fail"},
		},
		{
			// Outside prove -v output, a bare `ok` after a met plan is a
			// test point (past the plan), not prove's verdict, suite or not.
			name: "no prove verdict outside prove",
			in:   "1..1\nok 1 - a\nok\n",
			opts: tap.Options{File: "x.tap", Suite: "x.tap"},
			want: []string{"x.tap|a|pass", "x.tap|#2|pass", "x.tap|(plan)|error"},
		},
		{
			name: "duplicates renamed within it",
			in:   "ok 1 - a\nok 2 - a\n1..2\n",
			opts: tap.Options{Suite: "s"},
			want: []string{"s|a|pass", "s|a #2|pass"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := suiteOf(t, tc.in, tc.opts); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestSuiteTwoFiles is the audit's case: two files whose tests have the
// same names (works fails in one, passes in the other) give distinct
// tests, so that neither hides the other.
func TestSuiteTwoFiles(t *testing.T) {
	alpha := suiteOf(t, "1..2\nnot ok 1 - works\nok 2 - other\n", tap.Options{File: "t/alpha.t.tap", Suite: "t/alpha.t.tap"})
	beta := suiteOf(t, "1..2\nok 1 - works\nok 2 - other\n", tap.Options{File: "t/beta.t.tap", Suite: "t/beta.t.tap"})
	want := []string{"t/alpha.t.tap|works|fail", "t/alpha.t.tap|other|pass", "t/beta.t.tap|works|pass", "t/beta.t.tap|other|pass"}
	if got := append(alpha, beta...); !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestSuiteOnlySetsSuite parses the golden inputs and the fast path's
// cases with and without a Suite: the parses must differ only in the
// suite of the tests that had none, which take it.
func TestSuiteOnlySetsSuite(t *testing.T) {
	inputs := map[string][]byte{}
	for name, in := range fastCases {
		inputs[name] = []byte(in)
	}
	files, _ := filepath.Glob(filepath.Join(repoRoot(t), "reporters", "testdata", "tap", "*"))
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.IsDir() || strings.HasSuffix(f, ".json") || strings.HasSuffix(f, ".sh") || strings.HasSuffix(f, ".md") {
			continue
		}
		in, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		inputs[filepath.Base(f)] = in
	}
	const suite = "t/file.tap"
	proveSuites := 0
	for name, in := range inputs {
		parse := func(opts tap.Options) (*pony.Step, *tap.Summary, string) {
			step, sum, err := tap.Parse(context.Background(), bytes.NewReader(in), opts)
			msg := ""
			if err != nil {
				msg = err.Error()
			}
			return step, sum, msg
		}
		step, sum, err := parse(tap.Options{File: "file.tap"})
		gotStep, gotSum, gotErr := parse(tap.Options{File: "file.tap", Suite: suite})
		if step != nil {
			want := *step
			want.Tests = slices.Clone(step.Tests)
			for i := range want.Tests {
				if want.Tests[i].Suite == "" {
					want.Tests[i].Suite = suite
				} else {
					proveSuites++
				}
			}
			step = &want
		}
		if !reflect.DeepEqual(gotStep, step) || !reflect.DeepEqual(gotSum, sum) || gotErr != err {
			t.Errorf("%s: got %s, want %s (the parse without a suite, with the suite set)", name, describe(gotStep, gotSum, gotErr), describe(step, sum, err))
		}
	}
	if proveSuites == 0 {
		t.Error("got no test with a suite of its own (prove -v's), want some among the inputs")
	}
}
