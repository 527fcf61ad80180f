package client

import (
	"strings"
	"testing"

	"github.com/pony-build/pony"
)

func TestFitWarns(t *testing.T) {
	long := "TestLong/" + strings.Repeat("x", 1500)
	b := &pony.Bag{
		ClientInfo: pony.ClientInfo{Package: "pony", Branch: strings.Repeat("b", 1100)},
		Steps: []pony.Step{{Type: "test", Name: "-", Tests: []pony.TestResult{
			{Suite: "p", Name: long + "1", Status: pony.StatusPass},
			{Suite: "p", Name: long + "2", Status: pony.StatusPass},
			{Suite: "p", Name: "TestShort", Status: pony.StatusFail, Output: strings.Repeat("o", 70_000)},
		}}},
	}
	var warnings []string
	cuts := Fit(b, pony.DefaultLimits, func(format string, args ...any) {
		warnings = append(warnings, format)
		if len(args) == 1 {
			warnings[len(warnings)-1], _ = args[0].(string)
		}
	})
	if len(cuts) != 4 || len(warnings) != 1 {
		t.Fatalf("got %d cuts and warnings %q, want 4 cuts, one warning", len(cuts), warnings)
	}
	want := "cut to fit the limits: 1 branch over 1024 bytes, 2 test names over 1024 bytes, 1 test output over 65536 bytes " +
		"(a cut name keeps its start and a hash of the whole: different names stay apart, and a name is cut the same way every run; " +
		"a cut test keeps its full name in property pony.full_name, its length in pony.name_bytes)"
	if warnings[0] != want {
		t.Errorf("warning:\ngot  %s\nwant %s", warnings[0], want)
	}
	if err := b.Validate(pony.DefaultLimits); err != nil {
		t.Errorf("got %v, want the bag valid", err)
	}
	if n := len(Fit(b, pony.DefaultLimits, func(string, ...any) { t.Error("a second Fit warned") })); n != 0 {
		t.Errorf("second Fit: got %d cuts, want none", n)
	}
	if got := FitSummary([]pony.Cut{{What: "step output", Limit: 10, Kept: pony.KeptTail}, {What: "branch", Limit: 5}, {What: "branch", Limit: 5}}); got !=
		"cut to fit the limits: 1 step output over 10 bytes, 2 branches over 5 bytes (a cut name keeps its start and a hash of the whole: different names stay apart, and a name is cut the same way every run)" {
		t.Errorf("summary: got %q", got)
	}
}
