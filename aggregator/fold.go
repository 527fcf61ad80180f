package aggregator

import (
	"math/bits"
	"sort"
	"time"

	"github.com/pony-build/pony"
)

// Default fold options (see FoldOptions).
const (
	DefaultInfraMinTests = 20
	DefaultInfraFraction = 0.5
)

// historyBits is how many scored verdicts TestState.History keeps.
const historyBits = 64

// WithDefaults returns o with its zero fields set to the defaults:
// InfraMinTests 20, InfraFraction 0.5.
func (o FoldOptions) WithDefaults() FoldOptions {
	if o.InfraMinTests <= 0 {
		o.InfraMinTests = DefaultInfraMinTests
	}
	if o.InfraFraction <= 0 {
		o.InfraFraction = DefaultInfraFraction
	}
	return o
}

// Scored reports whether a verdict of status s is scored for flakiness:
// only pass, fail and error are; skip, xfail and xpass say nothing about
// whether the test can be trusted.
func Scored(s pony.Status) bool {
	return s == pony.StatusPass || s == pony.StatusFail || s == pony.StatusError
}

// Observations returns one Observation per distinct (suite, name) of the
// bag, in order of first appearance over all its steps. A test held by
// several steps takes its final status from the last step holding it (in
// step order); it is a RetryFlake when it was a retry flake in any of its
// steps (pony.Step.Verdicts: failed, then passed within the step), and its
// Attempts are summed over the steps.
func Observations(b *pony.Bag) []Observation {
	if b == nil {
		return nil
	}
	var out []Observation
	index := map[pony.TestKey]int{}
	for i := range b.Steps {
		st := &b.Steps[i]
		order, byKey := st.Verdicts()
		for _, k := range order {
			v := byKey[k]
			status := st.Tests[v.Final].Status
			j, ok := index[k]
			if !ok {
				index[k] = len(out)
				out = append(out, Observation{Suite: k.Suite, Name: k.Name, Status: status, Attempts: v.Attempts, RetryFlake: v.RetryFlake})
				continue
			}
			o := &out[j]
			o.Status = status
			o.Attempts += v.Attempts
			o.RetryFlake = o.RetryFlake || v.RetryFlake
		}
	}
	return out
}

// IsInfraFailure reports whether a result whose observations are obs is an
// infrastructure failure: at least opts.InfraMinTests distinct tests ran
// and at least opts.InfraFraction of them (every status counts in the
// denominator) failed or errored. Zero options take the defaults (20 tests,
// 0.5). A result with fewer tests is never an infrastructure failure: a
// small suite failing is the code's fault until shown otherwise.
func IsInfraFailure(obs []Observation, opts FoldOptions) bool {
	opts = opts.WithDefaults()
	if len(obs) == 0 || len(obs) < opts.InfraMinTests {
		return false
	}
	failed := 0
	for _, o := range obs {
		if o.Status.Failed() {
			failed++
		}
	}
	return float64(failed) >= opts.InfraFraction*float64(len(obs))
}

// newer reports whether result (received, key) is newer than the state's
// latest verdict: later receipt time, then greater result key.
func newer(s *TestState, r ResultInfo) bool {
	if !r.Received.Equal(s.Received) {
		return r.Received.After(s.Received)
	}
	return r.ResultKey >= s.ResultKey
}

// Fold folds one result's verdict o of one test into the test's state in
// the result's environment and branch, and returns the new state. prev is
// the current state, nil for a test never seen in that environment and
// branch; it is not modified. The rules, in order:
//
//  1. Verdicts counts every result folded in.
//  2. A late result (received before prev's latest verdict, or at the same
//     time with a smaller result key) only increments Verdicts: it neither
//     replaces the latest verdict nor is scored, since History is ordered
//     newest first and cannot take an old verdict in its middle.
//  3. Otherwise the latest verdict becomes o's: Status, ResultKey,
//     Received, Commit, Attempts, and Infra = r.Infra.
//  4. An infrastructure-failure result (r.Infra) increments InfraExcluded
//     and nothing else: it is shown (and marked) but not scored.
//  5. Skip, xfail and xpass are not scored (see Scored): nothing more.
//  6. A scored verdict is shifted into History (1 = fail or error) and
//     RetryFlakes (1 = retry flake), newest in bit 0, keeping 64.
//  7. Same-commit disagreement: when r.Commit is set and differs from
//     ScoredCommit, CommitPass and CommitFail restart for the new commit.
//     The verdict then sets CommitPass or CommitFail; the first time both
//     are set for a commit, Disagreements is incremented (once per commit)
//     and the verdict is a flake signal. Results without a commit are never
//     compared.
//  8. A retry flake is a flake signal. Each signal increments FlakeCount;
//     FirstFlake (when zero) and LastFlake take r.Received.
//  9. CleanRun resets to 0 on a failure or a flake signal, and counts a
//     clean pass (a pass that is no flake signal) otherwise.
//  10. A scored verdict whose outcome differs from the previous scored
//     verdict's is a flip: r.Received is put first in FlipTimes, which
//     keeps the flips History still holds.
func Fold(prev *TestState, r ResultInfo, o Observation, opts FoldOptions) TestState {
	var s TestState
	if prev != nil {
		s = *prev
	} else {
		s = TestState{Package: r.Package, Suite: o.Suite, Name: o.Name, EnvKey: r.EnvKey, Branch: r.Branch}
	}
	s.Verdicts++
	if prev != nil && !newer(prev, r) {
		return s
	}
	s.Status = o.Status
	s.ResultKey = r.ResultKey
	s.Received = r.Received
	s.Commit = r.Commit
	s.Attempts = o.Attempts
	s.Infra = r.Infra
	if r.Infra {
		s.InfraExcluded++
		return s
	}
	if !Scored(o.Status) {
		return s
	}
	failed := o.Status.Failed()
	s.History <<= 1
	s.RetryFlakes <<= 1
	if failed {
		s.History |= 1
	}
	if o.RetryFlake {
		s.RetryFlakes |= 1
	}
	if s.HistoryLen < historyBits {
		s.HistoryLen++
	}
	s.FlipTimes = foldFlip(s.FlipTimes, s.History, s.HistoryLen, r.Received)
	signals := 0
	if o.RetryFlake {
		signals++
	}
	if r.Commit != "" {
		if r.Commit != s.ScoredCommit {
			s.ScoredCommit, s.CommitPass, s.CommitFail = r.Commit, false, false
		}
		before := s.CommitPass && s.CommitFail
		if failed {
			s.CommitFail = true
		} else {
			s.CommitPass = true
		}
		if !before && s.CommitPass && s.CommitFail {
			s.Disagreements++
			signals++
		}
	}
	if signals > 0 {
		s.FlakeCount += signals
		if s.FirstFlake.IsZero() {
			s.FirstFlake = r.Received
		}
		s.LastFlake = r.Received
	}
	if failed || signals > 0 {
		s.CleanRun = 0
	} else {
		s.CleanRun++
	}
	return s
}

// foldFlip returns the flip times of a state whose History and HistoryLen
// have just taken a scored verdict received at t: t first when that verdict
// flipped, then those of the older flips History still holds (see
// TestState.FlipTimes). The result never shares times's array when it
// grows, so a state copied from another keeps its own.
func foldFlip(times []time.Time, history uint64, n int, t time.Time) []time.Time {
	if n < 2 {
		return nil
	}
	flips := history ^ history>>1
	if flips&1 == 1 {
		times = append(append(make([]time.Time, 0, len(times)+1), t), times...)
	}
	keep := min(len(times), bits.OnesCount64(flips&(1<<uint(n-1)-1)))
	if keep == 0 {
		return nil
	}
	return times[:keep:keep]
}

// wasRetryFlake reports whether the state's latest verdict was a scored
// retry flake.
func wasRetryFlake(s *TestState) bool {
	return !s.Infra && Scored(s.Status) && s.HistoryLen > 0 && s.RetryFlakes&1 == 1
}

// DiffChanges says how a result with observations obs differs from the
// previous result of its environment and branch, prevKey ("" when there is
// none). prev are the states whose ResultKey == prevKey, taken BEFORE the
// new result is folded in: their Status is the previous result's verdict.
//
//   - NewlyFailing: failing (fail or error) now, not failing before.
//   - NewlyPassing: passing now, failing before.
//   - NewlyFlaky: a retry flake now, not a retry flake before.
//   - New: in obs but not in prev (every test when prevKey is "").
//   - Vanished: in prev but not in obs, sorted by suite then name.
//
// The first three and New keep obs order. A test whose verdict did not
// change is not listed. Infra copies infra. Lists are empty, never nil.
func DiffChanges(prevKey string, prev []TestState, obs []Observation, infra bool) Changes {
	c := Changes{PreviousKey: prevKey, Infra: infra,
		NewlyFailing: []TestRef{}, NewlyPassing: []TestRef{}, NewlyFlaky: []TestRef{}, Vanished: []TestRef{}, New: []TestRef{}}
	before := make(map[pony.TestKey]*TestState, len(prev))
	if prevKey != "" {
		for i := range prev {
			if prev[i].ResultKey == prevKey {
				before[pony.TestKey{Suite: prev[i].Suite, Name: prev[i].Name}] = &prev[i]
			}
		}
	}
	seen := make(map[pony.TestKey]bool, len(obs))
	for _, o := range obs {
		k := pony.TestKey{Suite: o.Suite, Name: o.Name}
		seen[k] = true
		p, ok := before[k]
		if !ok {
			c.New = append(c.New, TestRef{Suite: o.Suite, Name: o.Name, Status: o.Status})
			continue
		}
		ref := TestRef{Suite: o.Suite, Name: o.Name, Status: o.Status, Was: p.Status}
		switch {
		case o.Status.Failed() && !p.Status.Failed():
			c.NewlyFailing = append(c.NewlyFailing, ref)
		case o.Status == pony.StatusPass && p.Status.Failed():
			c.NewlyPassing = append(c.NewlyPassing, ref)
		}
		if o.RetryFlake && !wasRetryFlake(p) {
			c.NewlyFlaky = append(c.NewlyFlaky, ref)
		}
	}
	for k, p := range before {
		if !seen[k] {
			c.Vanished = append(c.Vanished, TestRef{Suite: k.Suite, Name: k.Name, Was: p.Status})
		}
	}
	sort.Slice(c.Vanished, func(i, j int) bool {
		a, b := c.Vanished[i], c.Vanished[j]
		if a.Suite != b.Suite {
			return a.Suite < b.Suite
		}
		return a.Name < b.Name
	})
	return c
}
