package aggregator

import (
	"testing"
	"time"

	"github.com/pony-build/pony"
)

func TestObservations(t *testing.T) {
	b := &pony.Bag{Steps: []pony.Step{
		{Name: "s1", Tests: []pony.TestResult{
			{Suite: "a", Name: "x", Status: pony.StatusFail, Attempt: 1},
			{Suite: "a", Name: "y", Status: pony.StatusPass},
			{Suite: "a", Name: "x", Status: pony.StatusPass, Attempt: 2},
		}},
		{Name: "s2", Tests: []pony.TestResult{
			{Suite: "a", Name: "y", Status: pony.StatusError},
			{Suite: "b", Name: "z", Status: pony.StatusSkip},
			{Suite: "a", Name: "x", Status: pony.StatusPass},
		}},
	}}
	got := Observations(b)
	want := []Observation{
		{Suite: "a", Name: "x", Status: pony.StatusPass, Attempts: 3, RetryFlake: true},
		{Suite: "a", Name: "y", Status: pony.StatusError, Attempts: 2},
		{Suite: "b", Name: "z", Status: pony.StatusSkip, Attempts: 1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d observations, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("observation %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestIsInfraFailure(t *testing.T) {
	mk := func(n, failed int) []Observation {
		out := make([]Observation, n)
		for i := range out {
			out[i].Status = pony.StatusPass
			if i < failed {
				out[i].Status = pony.StatusError
			}
		}
		return out
	}
	tests := []struct {
		name      string
		n, failed int
		opts      FoldOptions
		want      bool
	}{
		{"empty", 0, 0, FoldOptions{}, false},
		{"small suite all failing", 19, 19, FoldOptions{}, false},
		{"half of twenty", 20, 10, FoldOptions{}, true},
		{"just under half", 20, 9, FoldOptions{}, false},
		{"custom", 4, 3, FoldOptions{InfraMinTests: 4, InfraFraction: 0.75}, true},
	}
	for _, tt := range tests {
		if got := IsInfraFailure(mk(tt.n, tt.failed), tt.opts); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFold(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	ri := func(i int, commit string) ResultInfo {
		return ResultInfo{Package: "p", EnvKey: "e", Branch: "main", Commit: commit,
			ResultKey: string(rune('a' + i)), Received: t0.Add(time.Duration(i) * time.Hour)}
	}
	ob := func(s pony.Status, flake bool) Observation {
		return Observation{Suite: "s", Name: "n", Status: s, Attempts: 1, RetryFlake: flake}
	}
	var s *TestState
	step := func(r ResultInfo, o Observation) TestState {
		n := Fold(s, r, o, FoldOptions{})
		s = &n
		return n
	}
	got := step(ri(0, "c1"), ob(pony.StatusPass, false))
	if got.Verdicts != 1 || got.HistoryLen != 1 || got.History != 0 || got.CleanRun != 1 || got.Package != "p" {
		t.Fatalf("first pass: got %+v", got)
	}
	got = step(ri(1, "c1"), ob(pony.StatusFail, false))
	if got.Disagreements != 1 || got.FlakeCount != 1 || got.CleanRun != 0 || got.History != 1 || !got.FirstFlake.Equal(ri(1, "").Received) {
		t.Fatalf("same-commit disagreement: got %+v", got)
	}
	got = step(ri(2, "c1"), ob(pony.StatusFail, false))
	if got.Disagreements != 1 || got.FlakeCount != 1 {
		t.Fatalf("disagreement counted twice for one commit: got %+v", got)
	}
	got = step(ri(3, "c2"), ob(pony.StatusPass, true))
	if got.RetryFlakes != 1 || got.FlakeCount != 2 || got.CleanRun != 0 || got.History != 0b110 || got.HistoryLen != 4 {
		t.Fatalf("retry flake: got %+v", got)
	}
	got = step(ri(4, "c3"), ob(pony.StatusSkip, false))
	if got.HistoryLen != 4 || got.Status != pony.StatusSkip || got.Verdicts != 5 {
		t.Fatalf("skip scored: got %+v", got)
	}
	r := ri(5, "c4")
	r.Infra = true
	got = step(r, ob(pony.StatusError, false))
	if got.HistoryLen != 4 || !got.Infra || got.InfraExcluded != 1 || got.Status != pony.StatusError || got.ResultKey != "f" {
		t.Fatalf("infra: got %+v", got)
	}
	late := ri(1, "c9")
	late.ResultKey = "zz"
	got = step(late, ob(pony.StatusFail, false))
	if got.Verdicts != 7 || got.ResultKey != "f" || got.HistoryLen != 4 || got.Commit != "c4" {
		t.Fatalf("late result: got %+v", got)
	}
	got = step(ri(6, "c5"), ob(pony.StatusPass, false))
	if got.Infra || got.CleanRun != 1 || got.HistoryLen != 5 {
		t.Fatalf("after infra: got %+v", got)
	}
}

func TestDiffChanges(t *testing.T) {
	prev := []TestState{
		{Suite: "s", Name: "a", Status: pony.StatusPass, ResultKey: "k1", HistoryLen: 1},
		{Suite: "s", Name: "b", Status: pony.StatusFail, ResultKey: "k1", HistoryLen: 1, History: 1},
		{Suite: "s", Name: "gone", Status: pony.StatusPass, ResultKey: "k1"},
		{Suite: "s", Name: "same", Status: pony.StatusPass, ResultKey: "k1"},
		{Suite: "s", Name: "older", Status: pony.StatusPass, ResultKey: "k0"},
	}
	obs := []Observation{
		{Suite: "s", Name: "a", Status: pony.StatusFail},
		{Suite: "s", Name: "b", Status: pony.StatusPass, RetryFlake: true},
		{Suite: "s", Name: "same", Status: pony.StatusPass},
		{Suite: "s", Name: "older", Status: pony.StatusPass},
	}
	c := DiffChanges("k1", prev, obs, true)
	check := func(what string, got []TestRef, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s: got %+v, want %v", what, got, want)
			return
		}
		for i := range want {
			if got[i].Name != want[i] {
				t.Errorf("%s[%d]: got %s, want %s", what, i, got[i].Name, want[i])
			}
		}
	}
	check("newly failing", c.NewlyFailing, "a")
	check("newly passing", c.NewlyPassing, "b")
	check("newly flaky", c.NewlyFlaky, "b")
	check("vanished", c.Vanished, "gone")
	check("new", c.New, "older")
	if !c.Infra || c.PreviousKey != "k1" {
		t.Errorf("got infra %v key %q, want true k1", c.Infra, c.PreviousKey)
	}
	first := DiffChanges("", nil, obs, false)
	check("first result new", first.New, "a", "b", "same", "older")
	if first.Vanished == nil {
		t.Errorf("got nil Vanished, want empty")
	}
}
