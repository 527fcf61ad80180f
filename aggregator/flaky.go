package aggregator

import (
	"fmt"
	"math"
	"math/bits"
	"sort"
	"strings"
	"time"

	"github.com/pony-build/pony"
)

// The flakiness states of a test in an environment (see Assess).
const (
	StateHealthy = "healthy"
	StateFlaky   = "flaky"
	StateBroken  = "broken"
	StateNew     = "new"
)

// FlakyOptions tune Assess. Zero fields take the defaults.
type FlakyOptions struct {
	// Window is how many of the latest scored verdicts are looked at
	// (default 30, at most 64: what TestState.History keeps).
	Window int
	// MinSample is how many scored verdicts the flip rate needs before it
	// counts, and below which a test without flake signals is new
	// (default 5).
	MinSample int
	// BrokenAfter: a test whose last BrokenAfter scored verdicts all failed,
	// none a retry flake, is broken (default 3).
	BrokenAfter int
	// RecoverAfter: a test with that many clean passes in a row since its
	// last failure or flake signal has recovered (default 10).
	RecoverAfter int
	// FlipThreshold is the flip rate at or over which a test is flaky
	// (default 0.2).
	FlipThreshold float64
}

// WithDefaults returns o with its zero fields set to the defaults.
func (o FlakyOptions) WithDefaults() FlakyOptions {
	if o.Window <= 0 {
		o.Window = 30
	}
	o.Window = min(o.Window, historyBits)
	if o.MinSample <= 0 {
		o.MinSample = 5
	}
	if o.BrokenAfter <= 0 {
		o.BrokenAfter = 3
	}
	if o.RecoverAfter <= 0 {
		o.RecoverAfter = 10
	}
	if o.FlipThreshold <= 0 {
		o.FlipThreshold = 0.2
	}
	return o
}

// Assessment is the flakiness verdict on one test in one environment, with
// the signals behind it.
type Assessment struct {
	State string  `json:"state"`
	Score float64 `json:"score"`
	// FlipRate is the share of consecutive scored verdicts in the window
	// whose outcome (pass or fail) differs; 0 below MinSample.
	FlipRate float64 `json:"flip_rate"`
	// RetryFlakes counts retry flakes in the window.
	RetryFlakes int `json:"retry_flakes"`
	// Disagreements counts commits that both passed and failed.
	Disagreements int `json:"disagreements"`
	// Sample is how many scored verdicts the window holds.
	Sample int `json:"sample"`
	// Flips counts the flips in the window: scored verdicts whose outcome
	// (pass or fail) differs from the previous one's, at any sample size.
	Flips int `json:"flips"`
	// FirstFlip and LastFlip are the receipt times of the earliest and the
	// latest flip in the window (see TestState.FlipTimes; zero when none,
	// and FirstFlip the earliest known when the state was folded before
	// flip times were kept).
	FirstFlip time.Time `json:"first_flip,omitzero"`
	LastFlip  time.Time `json:"last_flip,omitzero"`
	// FirstFlake and LastFlake span the flake signals: the retry flakes and
	// same-commit disagreements folded in at ingest (TestState.FirstFlake
	// and LastFlake) and, when the flip rate is a signal (at or over the
	// threshold with the minimum sample), the flips in the window.
	FirstFlake time.Time `json:"first_flake,omitzero"`
	LastFlake  time.Time `json:"last_flake,omitzero"`
	// Recovered: the test had flake signals but has passed cleanly
	// RecoverAfter times in a row since (its state is healthy).
	// RecoveredSince is when that run of clean passes began: the first
	// clean pass after the last failure, or the last flake signal, a pass,
	// right before it (zero when no longer known: the verdict that ended
	// the last bad run is older than the 64 History keeps).
	Recovered      bool      `json:"recovered,omitempty"`
	RecoveredSince time.Time `json:"recovered_since,omitzero"`
	// Signals explain the verdict, one sentence each.
	Signals []string `json:"signals"`
}

// Assess judges a test's state in one environment:
//
//   - broken: at least BrokenAfter scored verdicts, the last BrokenAfter
//     all failed and none of them a retry flake. Failing steadily is not
//     flaky, whatever came before; the score is 0.
//   - flaky: a flake signal — a retry flake within the window, a commit
//     that passed and failed (TestState.Disagreements), or a flip rate at or
//     over FlipThreshold with at least MinSample verdicts — and not
//     recovered: fewer than RecoverAfter clean passes since the last
//     failure or flake signal.
//   - new: fewer than MinSample scored verdicts and no flake signal.
//   - healthy: otherwise (recovered tests included, marked Recovered;
//     their score is 0).
//
// Score, in [0, 1], is 1 − (1 − f)(1 − r)(1 − d): f the flip rate (0 below
// MinSample), r the share of retry flakes in the window, d = D/(D+2) for D
// same-commit disagreements (one gives 1/3). Independent signals add up as
// probabilities would, and none alone saturates the score unless it is
// total. Broken and recovered tests score 0.
func Assess(s TestState, opts FlakyOptions) Assessment {
	return assess(&s, opts.WithDefaults(), true)
}

// windowMask returns the mask of the n newest bits.
func windowMask(n int) uint64 {
	if n >= 64 {
		return math.MaxUint64
	}
	return 1<<uint(n) - 1
}

// assess is Assess with defaulted options; explain builds Signals.
func assess(s *TestState, o FlakyOptions, explain bool) Assessment {
	a := Assessment{Sample: min(s.HistoryLen, o.Window), Disagreements: s.Disagreements}
	mask := windowMask(a.Sample)
	hist := s.History & mask
	a.RetryFlakes = bits.OnesCount64(s.RetryFlakes & mask)
	flips := 0
	if a.Sample >= 2 {
		flips = bits.OnesCount64((hist ^ hist>>1) & windowMask(a.Sample-1))
	}
	if a.Sample >= o.MinSample && a.Sample >= 2 {
		a.FlipRate = float64(flips) / float64(a.Sample-1)
	}
	a.Flips = flips
	if flips > 0 && len(s.FlipTimes) > 0 {
		// The newest flip is in the window, and FlipTimes[0] is its time:
		// the times missing from a state folded before they were kept are
		// its oldest.
		a.LastFlip = s.FlipTimes[0]
		a.FirstFlip = s.FlipTimes[min(flips, len(s.FlipTimes))-1]
	}
	if explain {
		a.Signals = []string{}
	}
	say := func(format string, args ...any) {
		if explain {
			a.Signals = append(a.Signals, fmt.Sprintf(format, args...))
		}
	}
	if a.RetryFlakes > 0 {
		say("retry flake in %d of the last %d verdicts", a.RetryFlakes, a.Sample)
	}
	if s.Disagreements > 0 {
		if s.CommitPass && s.CommitFail && s.ScoredCommit != "" {
			say("commit %s passed and failed", shortCommit(s.ScoredCommit))
		}
		if s.Disagreements > 1 || !(s.CommitPass && s.CommitFail) {
			say("%d commit(s) passed and failed", s.Disagreements)
		}
	}
	flipping := a.FlipRate >= o.FlipThreshold && a.Sample >= o.MinSample
	if a.FlipRate > 0 {
		say("flip rate %.2f over %d verdicts", a.FlipRate, a.Sample)
	} else if a.Sample >= 2 && a.Sample < o.MinSample && flips > 0 {
		say("%d flip(s) in %d verdicts, under the minimum sample of %d", flips, a.Sample, o.MinSample)
	}
	d := float64(s.Disagreements) / float64(s.Disagreements+2)
	r := 0.0
	if a.Sample > 0 {
		r = float64(a.RetryFlakes) / float64(a.Sample)
	}
	a.Score = 1 - (1-a.FlipRate)*(1-r)*(1-d)
	signal := a.RetryFlakes > 0 || s.Disagreements > 0 || flipping
	recovered := s.CleanRun >= o.RecoverAfter
	a.FirstFlake, a.LastFlake = s.FirstFlake, s.LastFlake
	if flipping && !a.FirstFlip.IsZero() {
		if a.FirstFlake.IsZero() || a.FirstFlip.Before(a.FirstFlake) {
			a.FirstFlake = a.FirstFlip
		}
		if a.LastFlip.After(a.LastFlake) {
			a.LastFlake = a.LastFlip
		}
	}
	switch {
	case a.Sample >= o.BrokenAfter && hist&windowMask(o.BrokenAfter) == windowMask(o.BrokenAfter) &&
		s.RetryFlakes&windowMask(o.BrokenAfter) == 0:
		a.State, a.Score = StateBroken, 0
		say("broken: the last %d verdicts failed", o.BrokenAfter)
	case signal && recovered:
		a.State, a.Score = StateHealthy, 0
		a.Recovered, a.RecoveredSince = true, cleanSince(s)
		say("recovered: %d clean passes since the last flake", s.CleanRun)
	case signal:
		a.State = StateFlaky
	case a.Sample < o.MinSample:
		a.State = StateNew
		say("new: %d scored verdicts, under the minimum sample of %d", a.Sample, o.MinSample)
	default:
		a.State = StateHealthy
	}
	return a
}

// cleanSince returns when the state's run of clean passes (CleanRun) began,
// or zero when History no longer holds the verdict that ended the bad run
// before it. That verdict reset CleanRun: a failure, or a pass that was a
// flake signal. After a failure, the first clean pass flipped, and it is
// the newest flip (FlipTimes[0]: every verdict since passed); a flake
// signal is the last one (LastFlake).
func cleanSince(s *TestState) time.Time {
	n := s.CleanRun
	if n <= 0 || n >= s.HistoryLen {
		return time.Time{}
	}
	if s.History>>uint(n)&1 == 0 {
		return s.LastFlake
	}
	if len(s.FlipTimes) == 0 {
		return time.Time{}
	}
	return s.FlipTimes[0]
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// stateRank orders flakiness states from the least to the most worrying.
func stateRank(s string) int {
	switch s {
	case StateFlaky:
		return 3
	case StateBroken:
		return 2
	case StateNew:
		return 1
	}
	return 0
}

// StateSelection picks the tests RankTests lists by the states of their
// environments: a test is listed when at least one of its environments is
// in a selected state, with those environments.
type StateSelection uint8

// The selections; they combine with |.
const (
	SelectFlaky StateSelection = 1 << iota
	SelectBroken
	SelectNew
	SelectHealthy
	// SelectRecovered picks the healthy environments that recovered (see
	// Assessment.Recovered); SelectHealthy includes them.
	SelectRecovered
	// SelectAll picks every environment.
	SelectAll = SelectFlaky | SelectBroken | SelectNew | SelectHealthy
)

// selectionNames are the names ParseStateSelection takes, in the order
// String writes them.
var selectionNames = []struct {
	name string
	sel  StateSelection
}{
	{StateFlaky, SelectFlaky},
	{StateBroken, SelectBroken},
	{StateNew, SelectNew},
	{StateHealthy, SelectHealthy},
	{"recovered", SelectRecovered},
	{"all", SelectAll},
}

// ParseStateSelection reads a comma-separated list of states: flaky,
// broken, new, healthy, recovered (the healthy tests that recovered) and
// all. An empty list means flaky, the ranking's default. An unknown name is
// an EInvalid error.
func ParseStateSelection(s string) (StateSelection, error) {
	var sel StateSelection
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		found := false
		for _, n := range selectionNames {
			if n.name == part {
				sel, found = sel|n.sel, true
			}
		}
		if !found {
			return 0, Errorf(EInvalid, "state must be flaky, broken, new, healthy, recovered or all, or a comma-separated list of them, not %q", part)
		}
	}
	if sel == 0 {
		sel = SelectFlaky
	}
	return sel, nil
}

// String returns the selection as ParseStateSelection reads it, in
// canonical form: "all", or the states in the order flaky, broken, new,
// healthy, recovered (left out when healthy is there).
func (sel StateSelection) String() string {
	if sel&SelectAll == SelectAll {
		return "all"
	}
	if sel&SelectHealthy != 0 {
		sel &^= SelectRecovered
	}
	var names []string
	for _, n := range selectionNames {
		if n.sel != SelectAll && sel&n.sel != 0 {
			names = append(names, n.name)
		}
	}
	return strings.Join(names, ",")
}

// Selects reports whether an environment assessed as a is selected.
func (sel StateSelection) Selects(a Assessment) bool {
	switch a.State {
	case StateFlaky:
		return sel&SelectFlaky != 0
	case StateBroken:
		return sel&SelectBroken != 0
	case StateNew:
		return sel&SelectNew != 0
	}
	return sel&SelectHealthy != 0 || (a.Recovered && sel&SelectRecovered != 0)
}

// FlakyEnv is one environment (and branch) of a test, with its assessment.
type FlakyEnv struct {
	Env        Env         `json:"env"`
	Branch     string      `json:"branch,omitempty"`
	Status     pony.Status `json:"status"`
	ResultKey  string      `json:"result_key"`
	Assessment Assessment  `json:"assessment"`
	// History, RetryFlakes and HistoryLen are the state's last scored
	// verdicts (see TestState), for drawing them.
	History     uint64 `json:"history"`
	RetryFlakes uint64 `json:"retry_flakes"`
	HistoryLen  int    `json:"history_len"`
}

// StateCounts counts a test's environments by state.
type StateCounts struct {
	Flaky   int `json:"flaky"`
	Broken  int `json:"broken"`
	New     int `json:"new"`
	Healthy int `json:"healthy"`
	// Recovered counts the healthy environments that recovered.
	Recovered int `json:"recovered"`
}

// add counts an environment assessed as a.
func (c *StateCounts) add(a *Assessment) {
	switch a.State {
	case StateFlaky:
		c.Flaky++
	case StateBroken:
		c.Broken++
	case StateNew:
		c.New++
	default:
		c.Healthy++
		if a.Recovered {
			c.Recovered++
		}
	}
}

// FlakyTest is one test's flakiness over every environment.
type FlakyTest struct {
	Suite string `json:"suite"`
	Name  string `json:"name"`
	// State is the worst state over the environments (flaky, broken, new,
	// healthy, in that order); Score the highest.
	State string  `json:"state"`
	Score float64 `json:"score"`
	// The test's signals over every environment: FlipRate is the highest
	// flip rate, Flips, RetryFlakes, Disagreements and Sample are the sums
	// of the environments' (see Assessment), and Signals sum them up in
	// words, one sentence each.
	FlipRate      float64  `json:"flip_rate"`
	Flips         int      `json:"flips"`
	RetryFlakes   int      `json:"retry_flakes"`
	Disagreements int      `json:"disagreements"`
	Sample        int      `json:"sample"`
	Signals       []string `json:"signals"`
	// EnvStates counts the test's environments by state.
	EnvStates StateCounts `json:"env_states"`
	// RecoveredSince is the latest Assessment.RecoveredSince of the
	// environments where the test recovered.
	RecoveredSince time.Time `json:"recovered_since,omitzero"`
	// Environments lists the environments in the selected states (see
	// RankTests; where the test flakes, by default), highest score first.
	Environments []FlakyEnv `json:"environments"`
	// FirstFlake and LastFlake span the flake signals over every
	// environment (see Assessment.FirstFlake): the retry flakes and
	// same-commit disagreements folded in at ingest and the flips in the
	// window where the flip rate is a signal.
	FirstFlake time.Time `json:"first_flake,omitzero"`
	LastFlake  time.Time `json:"last_flake,omitzero"`
}

// explain sums up the test's signals in words.
func (t *FlakyTest) explain() {
	t.Signals = []string{}
	c := t.EnvStates
	var parts []string
	for _, p := range []struct {
		n     int
		state string
	}{{c.Flaky, StateFlaky}, {c.Broken, StateBroken}, {c.New, StateNew}, {c.Healthy, StateHealthy}} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%s in %d", p.state, p.n))
		}
	}
	envs := c.Flaky + c.Broken + c.New + c.Healthy
	t.Signals = append(t.Signals, fmt.Sprintf("%s of %d %s", strings.Join(parts, ", "), envs, plural(envs, "environment")))
	if c.Recovered > 0 {
		t.Signals = append(t.Signals, fmt.Sprintf("recovered in %d %s", c.Recovered, plural(c.Recovered, "environment")))
	}
	if t.RetryFlakes > 0 {
		t.Signals = append(t.Signals, fmt.Sprintf("retry flake in %d of %d verdicts", t.RetryFlakes, t.Sample))
	}
	if t.Disagreements > 0 {
		t.Signals = append(t.Signals, fmt.Sprintf("%d commit(s) passed and failed", t.Disagreements))
	}
	if t.FlipRate > 0 {
		t.Signals = append(t.Signals, fmt.Sprintf("flip rate up to %.2f", t.FlipRate))
	}
}

func plural(n int, noun string) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

// RankFlaky returns the tests that are flaky in at least one environment:
// RankTests with SelectFlaky.
func RankFlaky(states []TestState, envs []EnvInfo, opts FlakyOptions) []FlakyTest {
	return RankTests(states, envs, opts, SelectFlaky)
}

// RankTests assesses every state and returns the tests with at least one
// environment in a state sel selects, each with those environments, by
// score (highest first), then state (flaky, broken, new, healthy), suite
// and name. A test's State, Score, signals, EnvStates and flakes are over
// all its environments, selected or not. States whose environment is not
// in envs are shown with an environment holding only their key's package.
func RankTests(states []TestState, envs []EnvInfo, opts FlakyOptions, sel StateSelection) []FlakyTest {
	opts = opts.WithDefaults()
	byKey := make(map[string]Env, len(envs))
	for _, e := range envs {
		byKey[e.Key] = e.Env
	}
	type acc struct {
		t      FlakyTest
		listed bool
	}
	tests := map[[2]string]*acc{}
	var order []*acc
	for i := range states {
		s := &states[i]
		k := [2]string{s.Suite, s.Name}
		a := tests[k]
		if a == nil {
			a = &acc{t: FlakyTest{Suite: s.Suite, Name: s.Name, State: StateHealthy, Environments: []FlakyEnv{}}}
			tests[k] = a
			order = append(order, a)
		}
		as := assess(s, opts, false)
		t := &a.t
		if stateRank(as.State) > stateRank(t.State) {
			t.State = as.State
		}
		t.Score = max(t.Score, as.Score)
		t.FlipRate = max(t.FlipRate, as.FlipRate)
		t.Flips += as.Flips
		t.RetryFlakes += as.RetryFlakes
		t.Disagreements += as.Disagreements
		t.Sample += as.Sample
		t.EnvStates.add(&as)
		if as.RecoveredSince.After(t.RecoveredSince) {
			t.RecoveredSince = as.RecoveredSince
		}
		if !as.FirstFlake.IsZero() && (t.FirstFlake.IsZero() || as.FirstFlake.Before(t.FirstFlake)) {
			t.FirstFlake = as.FirstFlake
		}
		if as.LastFlake.After(t.LastFlake) {
			t.LastFlake = as.LastFlake
		}
		if sel.Selects(as) {
			a.listed = true
			env, ok := byKey[s.EnvKey]
			if !ok {
				env = Env{Package: s.Package}
			}
			t.Environments = append(t.Environments, FlakyEnv{Env: env, Branch: s.Branch, Status: s.Status, ResultKey: s.ResultKey,
				Assessment: assess(s, opts, true), History: s.History, RetryFlakes: s.RetryFlakes, HistoryLen: s.HistoryLen})
		}
	}
	out := []FlakyTest{}
	for _, a := range order {
		if !a.listed {
			continue
		}
		sort.SliceStable(a.t.Environments, func(i, j int) bool {
			x, y := a.t.Environments[i], a.t.Environments[j]
			if x.Assessment.Score != y.Assessment.Score {
				return x.Assessment.Score > y.Assessment.Score
			}
			if kx, ky := x.Env.Key(), y.Env.Key(); kx != ky {
				return NaturalLess(kx, ky)
			}
			return x.Branch < y.Branch
		})
		a.t.explain()
		out = append(out, a.t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		if ri, rj := stateRank(out[i].State), stateRank(out[j].State); ri != rj {
			return ri > rj
		}
		if out[i].Suite != out[j].Suite {
			return NaturalLess(out[i].Suite, out[j].Suite)
		}
		return NaturalLess(out[i].Name, out[j].Name)
	})
	return out
}
