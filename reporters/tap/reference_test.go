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
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pony-build/pony/internal/testenv"
	"github.com/pony-build/pony/reporters/tap"
)

// refCounts is what scripts/tap-reference prints for one file: npm
// tap-parser's final results, for the top-level test points only, with its
// protocol failures.
type refCounts struct {
	File  string `json:"file,omitempty"`
	OK    bool   `json:"ok"`
	Count int    `json:"count"`
	Pass  int    `json:"pass"`
	// Fail counts the failing test points (TODO ones too) and the
	// protocol failures.
	Fail    int `json:"fail"`
	Todo    int `json:"todo"`
	Skip    int `json:"skip"`
	Bailout any `json:"bailout"` // false, or the reason
	// Failures are the protocol failures' tapError strings.
	Failures []string `json:"failures"`
	Plan     struct {
		Start   *int `json:"start"`
		End     *int `json:"end"`
		SkipAll bool `json:"skipAll"`
	} `json:"plan"`
}

// knownDifferences lists, per input file and compared field, where this
// parser deliberately reads differently from tap-parser, and why. A
// listed difference that disappears fails the test too, so the table stays
// true. The fields are those of compare.
var knownDifferences = map[string]map[string]string{
	"prove-v.txt": {
		"plan":     "prove -v prints several files' TAP; we read each file's section with its own plan (and name its tests after the file, as Suite), so the last plan is the second file's; tap-parser reads one stream and keeps the first",
		"fail":     "as plan: tap-parser also counts each file's test numbers, met again in the next file, as duplicates",
		"failures": "as fail",
	},
	"prove-v-example.txt": {
		"plan":     "as prove-v.txt: one plan per file's section",
		"count":    "prove prints its own verdict `ok` after a passing file's TAP; tap-parser counts it as a test point, we keep it as output (prove's own summary says Tests=7)",
		"pass":     "as count",
		"fail":     "as prove-v.txt: no duplicate numbers across files' sections",
		"failures": "as fail",
	},
	"prove-v-timer.txt": {
		"plan":     "as prove-v.txt",
		"count":    "as prove-v-example.txt, the verdict here being `ok       44 ms ( … CPU)` with --timer",
		"pass":     "as count",
		"fail":     "as prove-v.txt",
		"failures": "as fail",
	},
	"empty.tap": {
		"plan": "an input without any TAP line is not TAP to us: no step, an error saying so; tap-parser reads it as a skip-all plan 1..0, which passes",
		"ok":   "as plan",
	},
	"die.tap":         {"plan": "as empty.tap: no TAP line at all", "ok": "as plan"},
	"out_err_mix.tap": {"plan": "as empty.tap: only non-TAP lines", "ok": "as plan"},
	"out_of_order.tap": {
		"count":    "test points after a trailing plan are kept and fail the plan (AfterPlan, one each): nothing good is dropped; tap-parser drops them as non-TAP, then finds fewer tests than planned",
		"pass":     "as count",
		"fail":     "as count: five points after the plan against tap-parser's one \"incorrect number of tests\"",
		"failures": "as fail",
	},
	"tap-parser-out_of_order.tap": {
		"count": "as out_of_order.tap, of which it is a copy", "pass": "as count", "fail": "as count", "failures": "as count",
	},
	"skip-all-with-assert.tap": {
		"count":    "a test point after a skip-all plan is kept, and fails the plan (AfterPlan, and more tests than the 0 planned); tap-parser drops it as non-TAP and passes",
		"pass":     "as count",
		"fail":     "as count",
		"failures": "as count",
		"ok":       "as count",
	},
	"space_after_plan.tap": {
		"plan":     "a plan line with trailing spaces is read as a plan, and met; tap-parser does not read it (and then reports the tests as unplanned)",
		"fail":     "as plan",
		"failures": "as plan",
		"ok":       "as plan",
	},
	"strict-pragma-child-broken-diags.tap": {
		"fail":     "tap-parser counts a subtest's strict-mode failures in its parent's fail count as well; ours are the subtest's, in its own \"child/(strict)\" entry (the top-level fail, the failing test point, agrees)",
		"failures": "as fail",
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

// ours computes our results in tap-parser's terms.
func ours(t *testing.T, path string) refCounts {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	step, sum, _ := tap.Parse(context.Background(), bytes.NewReader(data), tap.Options{File: filepath.Base(path)})
	var c refCounts
	c.OK = step != nil && step.Succeeded()
	c.Count, c.Pass, c.Skip, c.Todo = sum.Count, sum.Pass, sum.Skip, sum.Todo
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
	// tap-parser says "incorrect number of tests" at the end only when
	// nothing failed before (its ok is still true); a 1..0 plan with tests
	// it reports whatever else failed.
	failedBefore := sum.Bailout
	if step != nil {
		for _, r := range step.Tests {
			top := r.Name == tap.PlanEntry || r.Name == tap.StrictEntry
			failedBefore = failedBefore || r.Status.Failed() && !top
		}
	}
	for _, f := range sum.Failures {
		if f.Kind != tap.TooMany && f.Kind != tap.TooFew {
			failedBefore = true
		}
	}
	for _, f := range sum.Failures {
		k := string(f.Kind)
		switch {
		case f.Kind == tap.TooMany && sum.Plan != nil && sum.Plan.SkipAll:
		case f.Kind == tap.TooMany || f.Kind == tap.TooFew:
			if failedBefore {
				continue
			}
			k = "incorrect number"
		}
		c.Failures = append(c.Failures, k)
	}
	c.Fail = sum.Fail + len(c.Failures)
	return c
}

// refKinds maps tap-parser's protocol failures onto our kinds (a "too
// many" or "too few" being its "incorrect number of tests", but the
// first, of a 1..0 plan with tests).
func refKinds(failures []string) []string {
	var out []string
	for _, f := range failures {
		k := "tap-parser: " + f
		switch {
		case f == "id greater than plan end" || f == "id less than plan start":
			k = string(tap.OutsidePlan)
		case strings.HasPrefix(f, "test point id ") && strings.HasSuffix(f, " appears multiple times"):
			k = string(tap.Duplicate)
		case f == "no plan":
			k = string(tap.NoPlan)
		case f == "incorrect number of tests":
			k = "incorrect number"
		case f == "Plan of 1..0, but test points encountered":
			k = string(tap.TooMany)
		case f == "Non-TAP data encountered in strict mode" || f == "plan end cannot be less than plan start":
			k = string(tap.Strict)
		}
		out = append(out, k)
	}
	return out
}

// compare lists the fields where our results differ from tap-parser's:
// ok (our step succeeded), the counts (fail being the failing test points
// and the protocol failures), the protocol failures' kinds, the bail out
// and the plan. tap-parser's skip counts every test of a skip-all plan.
func compare(got, ref refCounts) map[string]string {
	diff := map[string]string{}
	check := func(field string, g, w any) {
		if fmt.Sprint(g) != fmt.Sprint(w) {
			diff[field] = fmt.Sprintf("got %v, want %v", g, w)
		}
	}
	check("ok", got.OK, ref.OK)
	check("count", got.Count, ref.Count)
	check("pass", got.Pass, ref.Pass)
	check("fail", got.Fail, ref.Fail)
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
	gk, rk := slices.Clone(got.Failures), refKinds(ref.Failures)
	sort.Strings(gk)
	sort.Strings(rk)
	check("failures", gk, rk)
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

// TestReferenceCounts compares our results with npm tap-parser's,
// committed as *.tap-parser.json by scripts/tap-reference: ok, the
// top-level counts, the protocol failures, the bail out and the plan.
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
