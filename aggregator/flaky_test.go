package aggregator

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pony-build/pony"
)

func TestParseStateSelection(t *testing.T) {
	tests := []struct {
		in, want string
		sel      StateSelection
	}{
		{"", "flaky", SelectFlaky},
		{" , ", "flaky", SelectFlaky},
		{"flaky", "flaky", SelectFlaky},
		{"broken", "broken", SelectBroken},
		{"new,broken", "broken,new", SelectBroken | SelectNew},
		{"healthy", "healthy", SelectHealthy},
		{"recovered", "recovered", SelectRecovered},
		{"healthy,recovered", "healthy", SelectHealthy | SelectRecovered},
		{"flaky, broken ,new,healthy", "all", SelectAll},
		{"all", "all", SelectAll},
		{"all,recovered", "all", SelectAll | SelectRecovered},
	}
	for _, tt := range tests {
		sel, err := ParseStateSelection(tt.in)
		if err != nil || sel != tt.sel || sel.String() != tt.want {
			t.Errorf("ParseStateSelection(%q): got %v (%q), %v; want %v (%q)", tt.in, sel, sel.String(), err, tt.sel, tt.want)
		}
		again, err := ParseStateSelection(sel.String())
		if err != nil || again.String() != tt.want {
			t.Errorf("ParseStateSelection(%q): got %q, %v; want %q", sel.String(), again, err, tt.want)
		}
	}
	for _, bad := range []string{"Flaky", "flakey", "flaky,bogus", "failing"} {
		_, err := ParseStateSelection(bad)
		if ErrorCode(err) != EInvalid || !strings.Contains(ErrorMessage(err), "state must be flaky, broken, new, healthy, recovered or all") {
			t.Errorf("ParseStateSelection(%q): got %v, want an invalid error naming the states", bad, err)
		}
	}
}

func TestSelects(t *testing.T) {
	healthy, recovered := Assessment{State: StateHealthy}, Assessment{State: StateHealthy, Recovered: true}
	tests := []struct {
		sel  StateSelection
		a    Assessment
		want bool
	}{
		{SelectFlaky, Assessment{State: StateFlaky}, true},
		{SelectFlaky, Assessment{State: StateBroken}, false},
		{SelectBroken, Assessment{State: StateBroken}, true},
		{SelectNew, Assessment{State: StateNew}, true},
		{SelectNew, healthy, false},
		{SelectHealthy, healthy, true},
		{SelectHealthy, recovered, true},
		{SelectRecovered, recovered, true},
		{SelectRecovered, healthy, false},
		{SelectAll, Assessment{State: StateNew}, true},
	}
	for _, tt := range tests {
		if got := tt.sel.Selects(tt.a); got != tt.want {
			t.Errorf("%s selects %s (recovered %v): got %v, want %v", tt.sel, tt.a.State, tt.a.Recovered, got, tt.want)
		}
	}
}

// foldAll folds one scored verdict a result into a new state, an hour
// apart from t0: 'p' pass, 'f' fail, 'r' a retry flake, 'i' an
// infrastructure failure.
func foldAll(t0 time.Time, verdicts string) TestState {
	var s *TestState
	for i, v := range verdicts {
		r := ResultInfo{Package: "p", EnvKey: "e", Branch: "main", ResultKey: string(rune('A' + i)), Received: t0.Add(time.Duration(i) * time.Hour)}
		o := Observation{Suite: "s", Name: "n", Status: pony.StatusPass, Attempts: 1}
		switch v {
		case 'f':
			o.Status = pony.StatusFail
		case 'r':
			o.RetryFlake, o.Attempts = true, 2
		case 'i':
			o.Status, r.Infra = pony.StatusError, true
		}
		n := Fold(s, r, o, FoldOptions{})
		s = &n
	}
	return *s
}

func TestFoldFlipTimes(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Hour) }
	s := foldAll(t0, "ppfpipp")
	// Flips at 2 (fail) and 3 (pass); 4 is an infrastructure failure, not
	// scored: 5 passes after 3's pass, no flip.
	if len(s.FlipTimes) != 2 || !s.FlipTimes[0].Equal(at(3)) || !s.FlipTimes[1].Equal(at(2)) {
		t.Errorf("flip times: got %v, want [%v %v]", s.FlipTimes, at(3), at(2))
	}
	if s := foldAll(t0, "pppp"); s.FlipTimes != nil {
		t.Errorf("no flip: got %v, want nil", s.FlipTimes)
	}
	// 70 verdicts alternating: History keeps 64, which hold 63 flips.
	s = foldAll(t0, strings.Repeat("pf", 35))
	if len(s.FlipTimes) != 63 || !s.FlipTimes[0].Equal(at(69)) || !s.FlipTimes[62].Equal(at(7)) {
		t.Errorf("70 alternating verdicts: got %d flip times, %v..%v; want 63, %v..%v", len(s.FlipTimes), s.FlipTimes[62], s.FlipTimes[0], at(7), at(69))
	}
	// A copy folded on does not change the state it was copied from.
	prev := foldAll(t0, "pf")
	before := append([]time.Time(nil), prev.FlipTimes...)
	Fold(&prev, ResultInfo{EnvKey: "e", ResultKey: "Z", Received: at(9)}, Observation{Suite: "s", Name: "n", Status: pony.StatusPass}, FoldOptions{})
	if len(prev.FlipTimes) != 1 || !prev.FlipTimes[0].Equal(before[0]) {
		t.Errorf("Fold changed its previous state's flip times: got %v, want %v", prev.FlipTimes, before)
	}
}

func TestAssessFlips(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Hour) }
	s := foldAll(t0, "pfpfpfpp")
	a := Assess(s, FlakyOptions{})
	if a.State != StateFlaky || a.Flips != 6 || !a.FirstFlip.Equal(at(1)) || !a.LastFlip.Equal(at(6)) ||
		!a.FirstFlake.Equal(at(1)) || !a.LastFlake.Equal(at(6)) {
		t.Errorf("flaky by flips: got %+v, want flaky, 6 flips and flakes from %v to %v", a, at(1), at(6))
	}
	// A window of 4 verdicts (4 to 7) holds the flips at 5 and 6.
	a = Assess(s, FlakyOptions{Window: 4, MinSample: 4})
	if a.Flips != 2 || !a.FirstFlip.Equal(at(5)) || !a.LastFlip.Equal(at(6)) {
		t.Errorf("window of 4: got %d flips %v..%v, want 2 from %v to %v", a.Flips, a.FirstFlip, a.LastFlip, at(5), at(6))
	}
	// A state folded before flip times were kept knows only the newest.
	legacy := s
	legacy.FlipTimes = legacy.FlipTimes[:2]
	if a := Assess(legacy, FlakyOptions{}); !a.FirstFlip.Equal(at(5)) || !a.LastFlip.Equal(at(6)) {
		t.Errorf("two flip times kept: got %v..%v, want %v..%v", a.FirstFlip, a.LastFlip, at(5), at(6))
	}
	legacy.FlipTimes = nil
	if a := Assess(legacy, FlakyOptions{}); a.Flips != 6 || !a.FirstFlip.IsZero() || !a.LastFlip.IsZero() || !a.FirstFlake.IsZero() {
		t.Errorf("no flip time kept: got %+v, want 6 flips without times", a)
	}
	// Flips under the flip threshold are shown but are no flake.
	a = Assess(foldAll(t0, "ppppppppppf"), FlakyOptions{})
	if a.State != StateHealthy || a.Flips != 1 || !a.LastFlip.Equal(at(10)) || !a.FirstFlake.IsZero() {
		t.Errorf("one flip in 11: got %+v, want healthy, its flip time and no flake", a)
	}
}

func TestAssessRecovered(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Hour) }
	tests := []struct {
		name, verdicts string
		recovered      bool
		since          time.Time
	}{
		// The last failure (3) ended by a pass (4), which flipped.
		{"after failures", "pfpf" + strings.Repeat("p", 10), true, at(4)},
		// The last flake signal was a passing retry flake (1).
		{"after a retry flake", "pr" + strings.Repeat("p", 10), true, at(1)},
		{"a pass short", "pfpf" + strings.Repeat("p", 9), false, time.Time{}},
		// Past the 64 verdicts History keeps, the start is no longer known.
		{"long ago", "pfpfpfpfpr" + strings.Repeat("p", 64), true, time.Time{}},
	}
	for _, tt := range tests {
		s := foldAll(t0, tt.verdicts)
		if tt.name == "long ago" {
			s.Disagreements = 1 // a signal History cannot forget
		}
		a := Assess(s, FlakyOptions{})
		if a.Recovered != tt.recovered || !a.RecoveredSince.Equal(tt.since) || (tt.recovered && (a.State != StateHealthy || a.Score != 0)) {
			t.Errorf("%s: got %s recovered %v since %v, want recovered %v since %v", tt.name, a.State, a.Recovered, a.RecoveredSince, tt.recovered, tt.since)
		}
	}
}

// The JSON of a ranked test keeps every field it had, and adds the combined
// signals, the counts by state and the flip times.
func TestFlakyTestJSON(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	s := foldAll(t0, "pfpfpfpp")
	s.Suite, s.Name = "s", "n"
	ft := RankTests([]TestState{s}, nil, FlakyOptions{}, SelectFlaky)
	if len(ft) != 1 {
		t.Fatalf("got %d tests, want 1", len(ft))
	}
	b, err := json.Marshal(ft[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"suite", "name", "state", "score", "environments", "first_flake", "last_flake",
		"flip_rate", "flips", "retry_flakes", "disagreements", "sample", "signals", "env_states"} {
		if _, ok := m[k]; !ok {
			t.Errorf("got no %q in %s", k, b)
		}
	}
	env := m["environments"].([]any)[0].(map[string]any)
	for _, k := range []string{"env", "status", "result_key", "assessment", "history", "retry_flakes", "history_len"} {
		if _, ok := env[k]; !ok {
			t.Errorf("got no environment %q in %s", k, b)
		}
	}
	as := env["assessment"].(map[string]any)
	for _, k := range []string{"state", "score", "flip_rate", "retry_flakes", "disagreements", "sample", "signals", "flips", "first_flip", "last_flip", "first_flake", "last_flake"} {
		if _, ok := as[k]; !ok {
			t.Errorf("got no assessment %q in %s", k, b)
		}
	}
	if m["first_flake"] != "2024-01-01T01:00:00Z" || m["last_flake"] != "2024-01-01T06:00:00Z" {
		t.Errorf("got first_flake %v, last_flake %v; want the first and last flip", m["first_flake"], m["last_flake"])
	}
}
