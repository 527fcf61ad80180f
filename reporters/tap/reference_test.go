package tap_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/pony-build/pony/internal/testenv"
	"github.com/pony-build/pony/reporters/tap"
)

// refCounts is what scripts/tap-reference prints for one file: npm
// tap-parser's final counts, for the top-level test points only.
type refCounts struct {
	File    string `json:"file,omitempty"`
	OK      bool   `json:"ok"`
	Count   int    `json:"count"`
	Pass    int    `json:"pass"`
	Fail    int    `json:"fail"`
	Todo    int    `json:"todo"`
	Skip    int    `json:"skip"`
	Bailout any    `json:"bailout"` // false, or the reason
	Plan    struct {
		Start   *int `json:"start"`
		End     *int `json:"end"`
		SkipAll bool `json:"skipAll"`
	} `json:"plan"`
}

// knownDifferences lists, per input file and compared field, where this
// parser deliberately counts differently from tap-parser, and why. A
// listed difference that disappears fails the test too, so the table stays
// true.
var knownDifferences = map[string]map[string]string{
	"prove-v.txt": {
		"plan": "prove -v prints several files' TAP; we read each file's section with its own plan (and name its tests after the file, as Suite), so the last plan is the second file's; tap-parser reads one stream and keeps the first",
	},
	"prove-v-example.txt": {
		"plan":  "as prove-v.txt: one plan per file's section",
		"count": "prove prints its own verdict `ok` after a passing file's TAP; tap-parser counts it as a test point, we keep it as output (prove's own summary says Tests=7)",
		"pass":  "as count",
	},
	"prove-v-timer.txt": {
		"plan":  "as prove-v.txt",
		"count": "as prove-v-example.txt, the verdict here being `ok       44 ms ( … CPU)` with --timer",
		"pass":  "as count",
	},
	"empty.tap": {
		"plan": "an input without any TAP line is not TAP to us: no step, an error saying so; tap-parser reads it as a skip-all plan 1..0",
	},
	"die.tap":         {"plan": "as empty.tap: no TAP line at all"},
	"out_err_mix.tap": {"plan": "as empty.tap: only non-TAP lines"},
	"out_of_order.tap": {
		"count": "test points after a trailing plan are kept (and the plan reported as not met): nothing good is dropped; tap-parser ignores them",
		"pass":  "as count",
	},
	"skip-all-with-assert.tap": {
		"count": "a test point after a skip-all plan is kept and reported; tap-parser ignores it",
		"pass":  "as count",
	},
	"space_after_plan.tap": {
		"plan": "a plan line with trailing spaces is read as a plan; tap-parser does not (and then reports the tests as unplanned)",
	},
}

// repoRoot is the repository root.
func repoRoot(t testing.TB) string { return testenv.RepoRoot(t) }

// fixtureDir is the shared tap-parser fixtures, read in place (see
// testenv.SharedFixtures); ok is false when opted out.
func fixtureDir(t testing.TB) (string, bool) {
	t.Helper()
	dir := testenv.SharedFixtures(t, "tap", "tap-parser")
	return dir, dir != ""
}

// refInput is one TAP input with the file its committed reference counts
// are in.
type refInput struct {
	path, ref string
}

// refInputs lists the real inputs of reporters/testdata/tap (references in
// its reference/ folder) and the shared tap-parser fixtures (references in
// testdata/reference/).
func refInputs(t *testing.T) []refInput {
	t.Helper()
	var ins []refInput
	own, _ := filepath.Glob(filepath.Join("..", "testdata", "tap", "*"))
	for _, f := range own {
		if strings.HasSuffix(f, ".golden.json") || strings.HasSuffix(f, ".sh") || strings.HasSuffix(f, ".md") {
			continue
		}
		if fi, err := os.Stat(f); err != nil || fi.IsDir() {
			continue
		}
		ins = append(ins, refInput{f, filepath.Join("..", "testdata", "tap", "reference", filepath.Base(f)+".tap-parser.json")})
	}
	if len(ins) < 5 {
		t.Fatalf("got %d inputs under ../testdata/tap, want at least 5", len(ins))
	}
	if dir, ok := fixtureDir(t); ok {
		fx, _ := filepath.Glob(filepath.Join(dir, "*.tap"))
		if len(fx) < 100 {
			t.Fatalf("got %d tap-parser fixtures in %s, want at least 100", len(fx), dir)
		}
		for _, f := range fx {
			ins = append(ins, refInput{f, filepath.Join("testdata", "reference", filepath.Base(f)+".tap-parser.json")})
		}
	}
	return ins
}

// ours computes our counts in tap-parser's terms.
func ours(t *testing.T, path string) refCounts {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, sum, _ := tap.Parse(context.Background(), bytes.NewReader(data), tap.Options{File: filepath.Base(path)})
	var c refCounts
	c.Count, c.Pass, c.Fail, c.Skip, c.Todo = sum.Count, sum.Pass, sum.Fail, sum.Skip, sum.Todo
	c.Bailout = false
	if sum.Bailout {
		c.Bailout = sum.BailoutReason
		if c.Bailout == "" {
			c.Bailout = true
		}
	}
	if sum.Plan != nil {
		c.Plan.Start, c.Plan.End, c.Plan.SkipAll = &sum.Plan.Start, &sum.Plan.End, sum.Plan.SkipAll
	}
	return c
}

// compare lists the fields where our counts differ from tap-parser's.
// tap-parser's fail also counts its protocol errors (a plan not met, a
// test number out of order…), so it is compared as "not ok" lines:
// count - pass. Its skip counts every test of a skip-all plan.
func compare(got, ref refCounts) map[string]string {
	diff := map[string]string{}
	check := func(field string, g, w any) {
		if fmt.Sprint(g) != fmt.Sprint(w) {
			diff[field] = fmt.Sprintf("got %v, want %v", g, w)
		}
	}
	check("count", got.Count, ref.Count)
	check("pass", got.Pass, ref.Pass)
	check("notok", got.Fail, ref.Count-ref.Pass)
	check("todo", got.Todo, ref.Todo)
	refSkip := ref.Skip
	if ref.Plan.SkipAll {
		refSkip = 0 // tap-parser counts the tests of a skip-all plan as skipped
		if got.Skip == ref.Skip {
			refSkip = ref.Skip
		}
	}
	check("skip", got.Skip, refSkip)
	check("bailout", got.Bailout, ref.Bailout)
	ip := func(p *int) any {
		if p == nil {
			return nil
		}
		return *p
	}
	check("plan", fmt.Sprint(ip(got.Plan.Start), "..", ip(got.Plan.End), got.Plan.SkipAll),
		fmt.Sprint(ip(ref.Plan.Start), "..", ip(ref.Plan.End), ref.Plan.SkipAll))
	return diff
}

// TestReferenceCounts compares our top-level counts with npm tap-parser's,
// committed as *.tap-parser.json by scripts/tap-reference.
func TestReferenceCounts(t *testing.T) {
	for _, in := range refInputs(t) {
		t.Run(filepath.Base(in.path), func(t *testing.T) {
			b, err := os.ReadFile(in.ref)
			if err != nil {
				t.Fatalf("no reference counts (regenerate with scripts/tap-reference): %v", err)
			}
			var ref refCounts
			if err := json.Unmarshal(b, &ref); err != nil {
				t.Fatalf("%s: %v", in.ref, err)
			}
			checkAgainst(t, filepath.Base(in.path), ours(t, in.path), ref)
		})
	}
}

func checkAgainst(t *testing.T, name string, got, ref refCounts) {
	t.Helper()
	diff := compare(got, ref)
	known := knownDifferences[name]
	fields := make([]string, 0, len(diff))
	for f := range diff {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		if _, ok := known[f]; !ok {
			t.Errorf("%s: %s", f, diff[f])
		}
	}
	for f := range known {
		if _, ok := diff[f]; !ok {
			t.Errorf("%s: listed as a known difference, but the counts agree now; remove it from knownDifferences", f)
		}
	}
}

// TestReferenceLive runs tap-parser itself when PONY_TAP_PARSER_DIR names an
// installed scripts/tap-reference (after `npm ci` there), and compares its
// counts with ours. When the variable is set, a failing node fails the test.
func TestReferenceLive(t *testing.T) {
	dir := os.Getenv("PONY_TAP_PARSER_DIR")
	if dir == "" {
		t.Skip("PONY_TAP_PARSER_DIR is not set; the committed reference counts are checked by TestReferenceCounts")
	}
	ins := refInputs(t)
	args := []string{filepath.Join(dir, "tap-reference.mjs")}
	for _, in := range ins {
		abs, err := filepath.Abs(in.path)
		if err != nil {
			t.Fatal(err)
		}
		args = append(args, abs)
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node tap-reference.mjs: %v\n%s", err, stderr.String())
	}
	byFile := map[string]refCounts{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var r refCounts
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("tap-reference output %q: %v", sc.Text(), err)
		}
		byFile[r.File] = r
	}
	if len(byFile) != len(ins) {
		t.Fatalf("got %d results from tap-parser, want %d", len(byFile), len(ins))
	}
	for _, in := range ins {
		abs, _ := filepath.Abs(in.path)
		t.Run(filepath.Base(in.path), func(t *testing.T) {
			checkAgainst(t, filepath.Base(in.path), ours(t, in.path), byFile[abs])
		})
	}
}

func bufioScanner(r *bytes.Reader) *bufio.Scanner { return bufio.NewScanner(r) }
