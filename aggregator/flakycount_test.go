package aggregator

import (
	"fmt"
	"math/rand"
	"testing"
	"time"
)

// TestFlakyCounter: over random states of many tests, environments and
// branches, added in any order, the count is the length of the flaky
// ranking of the newest state of each test and environment (what
// TestStates gives Flaky over every branch), and IsFlaky agrees with
// Assess.
func TestFlakyCounter(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for round := range 50 {
		var all []TestState
		ids := map[[2]string]int64{}
		for i := range 1 + rng.Intn(40) {
			suite, name := fmt.Sprintf("s%d", i%3), fmt.Sprintf("T%02d", i)
			ids[[2]string{suite, name}] = int64(i + 1)
			for _, env := range []string{"e1", "e2", "e3"}[:1+rng.Intn(3)] {
				for _, branch := range []string{"main", "dev"}[:1+rng.Intn(2)] {
					n := rng.Intn(12)
					s := TestState{Package: "p", Suite: suite, Name: name, EnvKey: env, Branch: branch,
						// Some readings of two branches tie on the receipt: the key decides.
						Received: base.Add(time.Duration(rng.Intn(4)) * time.Minute), ResultKey: fmt.Sprintf("r%03d", rng.Intn(1000)),
						History: rng.Uint64() & windowMask(n), HistoryLen: n, CleanRun: rng.Intn(12)}
					if rng.Intn(4) == 0 {
						s.RetryFlakes = 1 << uint(rng.Intn(max(n, 1)))
					}
					if rng.Intn(6) == 0 {
						s.Disagreements = 1
					}
					all = append(all, s)
				}
			}
		}
		newest := map[[3]string]int{}
		for i := range all {
			k := [3]string{all[i].Suite, all[i].Name, all[i].EnvKey}
			if j, ok := newest[k]; !ok || all[i].Newer(&all[j]) {
				newest[k] = i
			}
		}
		var kept []TestState
		for _, i := range newest {
			kept = append(kept, all[i])
		}
		want := len(RankFlaky(kept, nil, FlakyOptions{}))
		c := NewFlakyCounter(FlakyOptions{})
		for _, i := range rng.Perm(len(all)) {
			c.Add(ids[[2]string{all[i].Suite, all[i].Name}], &all[i])
		}
		if got := c.Count(); got != want {
			t.Fatalf("round %d: got %d flaky tests, want %d as RankFlaky", round, got, want)
		}
		// Counted by environment, the union is the same.
		byEnv := map[string]*FlakyCounter{}
		for i := range all {
			e := byEnv[all[i].EnvKey]
			if e == nil {
				e = NewFlakyCounter(FlakyOptions{})
				byEnv[all[i].EnvKey] = e
			}
			e.Add(ids[[2]string{all[i].Suite, all[i].Name}], &all[i])
		}
		union := map[int64]bool{}
		for _, e := range byEnv {
			for _, id := range e.Tests() {
				union[id] = true
			}
		}
		if len(union) != want {
			t.Fatalf("round %d: got %d flaky tests counted by environment, want %d as RankFlaky", round, len(union), want)
		}
		for i := range all {
			if got, want := IsFlaky(&all[i], FlakyOptions{}), Assess(all[i], FlakyOptions{}).State == StateFlaky; got != want {
				t.Fatalf("round %d: IsFlaky(%+v) = %v, want %v", round, all[i], got, want)
			}
		}
	}
}
