package aggregator

import (
	"fmt"
	"math"
	"math/bits"
	"sort"
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
//   - healthy: otherwise (recovered tests included; their score is 0).
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
	switch {
	case a.Sample >= o.BrokenAfter && hist&windowMask(o.BrokenAfter) == windowMask(o.BrokenAfter) &&
		s.RetryFlakes&windowMask(o.BrokenAfter) == 0:
		a.State, a.Score = StateBroken, 0
		say("broken: the last %d verdicts failed", o.BrokenAfter)
	case signal && recovered:
		a.State, a.Score = StateHealthy, 0
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

// FlakyEnv is one environment (and branch) where a test flakes.
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

// FlakyTest is one test's flakiness over every environment.
type FlakyTest struct {
	Suite string `json:"suite"`
	Name  string `json:"name"`
	// State is the worst state over the environments (flaky, broken, new,
	// healthy, in that order); Score the highest.
	State string  `json:"state"`
	Score float64 `json:"score"`
	// Environments lists where the test flakes, highest score first.
	Environments []FlakyEnv `json:"environments"`
	// FirstFlake and LastFlake span the flake signals folded in at ingest
	// (retry flakes and same-commit disagreements) over every environment;
	// zero when the test flakes by its flip rate alone.
	FirstFlake time.Time `json:"first_flake,omitzero"`
	LastFlake  time.Time `json:"last_flake,omitzero"`
}

// RankFlaky assesses every state and returns the tests that are flaky in
// at least one environment, by score (highest first), then suite and name.
// States whose environment is not in envs are shown with an environment
// holding only their key's package.
func RankFlaky(states []TestState, envs []EnvInfo, opts FlakyOptions) []FlakyTest {
	opts = opts.WithDefaults()
	byKey := make(map[string]Env, len(envs))
	for _, e := range envs {
		byKey[e.Key] = e.Env
	}
	type acc struct {
		t     FlakyTest
		flaky bool
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
		as := assess(s, opts, true)
		if stateRank(as.State) > stateRank(a.t.State) {
			a.t.State = as.State
		}
		a.t.Score = max(a.t.Score, as.Score)
		if !s.FirstFlake.IsZero() && (a.t.FirstFlake.IsZero() || s.FirstFlake.Before(a.t.FirstFlake)) {
			a.t.FirstFlake = s.FirstFlake
		}
		if s.LastFlake.After(a.t.LastFlake) {
			a.t.LastFlake = s.LastFlake
		}
		if as.State == StateFlaky {
			a.flaky = true
			env, ok := byKey[s.EnvKey]
			if !ok {
				env = Env{Package: s.Package}
			}
			a.t.Environments = append(a.t.Environments, FlakyEnv{Env: env, Branch: s.Branch, Status: s.Status, ResultKey: s.ResultKey, Assessment: as,
				History: s.History, RetryFlakes: s.RetryFlakes, HistoryLen: s.HistoryLen})
		}
	}
	out := []FlakyTest{}
	for _, a := range order {
		if !a.flaky {
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
		out = append(out, a.t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		if out[i].Suite != out[j].Suite {
			return NaturalLess(out[i].Suite, out[j].Suite)
		}
		return NaturalLess(out[i].Name, out[j].Name)
	})
	return out
}
