package junit_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	gojunit "github.com/joshdk/go-junit"

	"github.com/pony-build/pony/junit"
)

// verdicts counts testcases by verdict in go-junit's four classes; our
// xpass counts as passed and our xfail as skipped.
type verdicts struct {
	Tests, Passed, Skipped, Failed, Error int
}

func (v verdicts) String() string {
	return fmt.Sprintf("tests=%d passed=%d skipped=%d failed=%d error=%d", v.Tests, v.Passed, v.Skipped, v.Failed, v.Error)
}

func oracleCounts(data []byte) (verdicts, error) {
	suites, err := gojunit.IngestReader(bytes.NewReader(data))
	if err != nil {
		return verdicts{}, err
	}
	var v verdicts
	for _, s := range suites {
		v.Tests += s.Totals.Tests
		v.Passed += s.Totals.Passed
		v.Skipped += s.Totals.Skipped
		v.Failed += s.Totals.Failed
		v.Error += s.Totals.Error
	}
	return v, nil
}

// ourCounts decodes data to the end and counts its testcases by verdict
// (suite-level entries are not testcases and are not counted).
func ourCounts(data []byte, file string) (verdicts, junit.Counts, error) {
	d := junit.NewDecoder(bytes.NewReader(data), junit.Options{File: file})
	var err error
	for {
		if _, err = d.Next(); err != nil {
			break
		}
	}
	if err == io.EOF {
		err = nil
	}
	c := d.Counts()
	v := verdicts{
		Tests:   c.Testcases,
		Passed:  c.Pass + c.XPass,
		Skipped: c.Skip + c.XFail,
		Failed:  c.Fail,
		Error:   c.Error,
	}
	return v, c, err
}

// inputKey names an input in the tables below: "fixtures/…" for the shared
// fixtures, the path from the repository root for our own.
func inputKey(t *testing.T, p string) string {
	if root := sharedFixtures(t); root == "" {
		// no fixtures: p is one of ours
	} else if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return "fixtures/" + filepath.ToSlash(r)
	}
	r, _ := filepath.Rel(repoRoot(t), p)
	return filepath.ToSlash(r)
}

// oracleException is a documented case where go-junit is wrong (or where
// we reject what it silently accepts); both sides are pinned.
type oracleException struct {
	ours, oracle verdicts
	// notJUnit: we reject the input as not JUnit, go-junit returns nothing
	// and no error.
	notJUnit bool
	why      string
}

var oracleExceptions = map[string]oracleException{
	"reporters/testdata/junit/node-test.xml": {
		ours:   verdicts{Tests: 6, Passed: 2, Skipped: 2, Failed: 2},
		oracle: verdicts{Tests: 4, Passed: 1, Skipped: 1, Failed: 2},
		why: "node writes top-level tests as <testcase> directly under <testsuites>; go-junit only reads testcases inside a <testsuite> and drops them. " +
			"node's failing todo test (<skipped type=\"todo\"> then <failure>) is an expected failure (TAP's # TODO) for us, a failure for go-junit (its last element wins)",
	},
	"fixtures/enricomi/junit-xml/non-junit.xml": {
		notJUnit: true,
		why:      "root <suites> is not JUnit; go-junit returns no suites and no error, which would read as an empty green report",
	},
	"fixtures/enricomi/junit-xml/non-junit.junit-xml": {
		notJUnit: true,
		why:      "as non-junit.xml",
	},
	"fixtures/enricomi/xml/empty.xml": {
		notJUnit: true,
		why:      "an empty file is not a report; go-junit returns no suites and no error",
	},
	"fixtures/enricomi/xml/non-xml.xml": {
		notJUnit: true,
		why:      "plain text is not a report; go-junit returns no suites and no error",
	},
}

// TestDifferentialGoJUnit compares our decoder with github.com/joshdk/go-junit
// on every JUnit input we have: our own real runner outputs and every *.xml
// and *.junit-xml of the shared fixtures, read in place. Where go-junit reads
// a file, the counts by verdict must be equal, except for the documented
// cases in oracleExceptions; where go-junit errors, we must error too. The
// rerun elements do not change go-junit's counts (it ignores them and reads
// the testcase's own verdict, which for Surefire is the last one unless a
// rerun's kind differs); the attempts they add are checked by the goldens.
func TestDifferentialGoJUnit(t *testing.T) {
	files := append(ownInputs(t), fixtureInputs(t)...)
	seen := map[string]bool{}
	for _, f := range files {
		key := inputKey(t, f)
		t.Run(key, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, oerr := oracleCounts(data)
			got, _, err := ourCounts(data, key)
			if ex, ok := oracleExceptions[key]; ok {
				seen[key] = true
				if ex.notJUnit {
					if !errors.Is(err, junit.ErrNotJUnit) || oerr != nil || want != (verdicts{}) {
						t.Errorf("got ours err=%v, oracle %v err=%v; want ours ErrNotJUnit, oracle empty without error (%s)", err, want, oerr, ex.why)
					}
					return
				}
				if got != ex.ours || want != ex.oracle || err != nil || oerr != nil {
					t.Errorf("documented exception changed:\n got ours %v (err %v), oracle %v (err %v)\nwant ours %v, oracle %v\nreason: %s", got, err, want, oerr, ex.ours, ex.oracle, ex.why)
				}
				return
			}
			switch {
			case oerr != nil:
				if err == nil {
					t.Errorf("got no error, want one: go-junit rejects this file (%v)", oerr)
				}
			case err != nil:
				t.Errorf("got error %v, want none: go-junit reads this file as %v", err, want)
			case got != want:
				t.Errorf("got %v, want go-junit's %v", got, want)
			}
		})
	}
	for key := range oracleExceptions {
		if !seen[key] && (strings.HasPrefix(key, "reporters/") || sharedFixtures(t) != "") {
			t.Errorf("exception %s names no input", key)
		}
	}
}

// enricoStats is the part of EnricoMi's *.results.json read here: that
// tool's own counts of runs (testcases) by result.
type enricoStats struct {
	Stats struct {
		Runs      int `json:"runs"`
		RunsSucc  int `json:"runs_succ"`
		RunsSkip  int `json:"runs_skip"`
		RunsFail  int `json:"runs_fail"`
		RunsError int `json:"runs_error"`
		Errors    []struct {
			Message string `json:"message"`
		} `json:"errors"`
	} `json:"stats"`
}

// enricoExceptions are the inputs where EnricoMi's counts are not the
// testcases' verdicts, with the reason.
var enricoExceptions = map[string]string{
	"fixtures/enricomi/junit-xml/junit.multiresult.xml":                 "one testcase holding <skipped>, <failure> and <error> counts once per element there (runs_succ is -2); we count each testcase once, error > failure > skipped",
	"fixtures/enricomi/junit-xml/junit.multiresult.junit-xml":           "as junit.multiresult.xml",
	"fixtures/enricomi/junit-xml/no-cases-but-tests.xml":                "the tool takes the suite's tests/failures/skipped attributes when it holds no testcase; we count testcases (0) and make one \"(testsuite)\" failure entry so the declared failure is not lost",
	"fixtures/enricomi/junit-xml/no-cases-but-tests.junit-xml":          "as no-cases-but-tests.xml",
	"fixtures/enricomi/nunit/nunit3/jenkins/NUnit-issue33493.junit-xml": "counted from the NUnit original, where the Inconclusive test is not a skip; the JUnit rendering says <skipped>",
	"fixtures/enricomi/xunit/mstest/jenkinsci/testcase2.junit-xml":      "counted from the xUnit original (3 tests); the JUnit rendering holds 1 testcase",
}

// TestEnricoMiCounts compares our counts with the *.results.json that
// EnricoMi's publish-unit-test-result-action ships beside its inputs.
func TestEnricoMiCounts(t *testing.T) {
	compared := 0
	for _, f := range fixtureInputs(t) {
		base := strings.TrimSuffix(strings.TrimSuffix(f, ".xml"), ".junit-xml")
		js, err := os.ReadFile(base + ".results.json")
		if err != nil {
			continue
		}
		key := inputKey(t, f)
		t.Run(key, func(t *testing.T) {
			var r enricoStats
			if err := json.Unmarshal(js, &r); err != nil {
				t.Fatalf("%s.results.json: %v", base, err)
			}
			s := r.Stats
			want := verdicts{Tests: s.Runs, Passed: s.RunsSucc, Skipped: s.RunsSkip, Failed: s.RunsFail, Error: s.RunsError}
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got, c, err := ourCounts(data, key)
			if why, ok := enricoExceptions[key]; ok {
				if got == want {
					t.Errorf("got %v, equal to EnricoMi's now: remove the exception (%s)", got, why)
				}
				if strings.Contains(key, "no-cases-but-tests") && c.SuiteErrors != 1 {
					t.Errorf("got %d suite-level entries, want 1", c.SuiteErrors)
				}
				return
			}
			if len(s.Errors) > 0 {
				// The tool rejected the file ("Invalid format."): so must we.
				if err == nil {
					t.Errorf("got no error, want one like EnricoMi's %q", s.Errors[0].Message)
				}
				return
			}
			if err != nil {
				t.Errorf("got error %v, want none", err)
			}
			if got != want {
				t.Errorf("got %v, want EnricoMi's %v", got, want)
			}
		})
		compared++
	}
	if compared < 50 && sharedFixtures(t) != "" {
		t.Errorf("got %d inputs with EnricoMi results, want at least 50", compared)
	}
}
