package aggregator

import (
	"time"

	"github.com/pony-build/pony"
)

// TestState is the kept-current state of one test in one environment on one
// branch: its latest verdict, and what flakiness scoring needs, folded in
// result by result at ingest (in the same transaction as the result) by
// Fold. The matrix and the flaky ranking read only these rows, never the
// history.
type TestState struct {
	Package string `json:"package"`
	Suite   string `json:"suite"`
	Name    string `json:"name"`
	// EnvKey identifies the result's environment: an opaque key made by the
	// store from Env.Key() (gormstore uses its hex SHA-256, as Env.Key()
	// holds NUL bytes that PostgreSQL text cannot), equal to EnvInfo.Key.
	// Branch is the result's branch.
	EnvKey string `json:"env_key"`
	Branch string `json:"branch"`

	// The latest verdict: the final status of the test in the newest
	// result folded in (newest by receipt time, then result key).
	Status    pony.Status `json:"status"`
	ResultKey string      `json:"result_key"`
	Received  time.Time   `json:"time"`
	Commit    string      `json:"commit,omitempty"`
	Attempts  int         `json:"attempts"`
	// Infra is set when the latest result was an infrastructure failure
	// (see FoldOptions): its verdict is shown but was not scored.
	Infra bool `json:"infra,omitempty"`
	// Verdicts counts the results folded in: the verdicts behind the cell.
	Verdicts int `json:"verdicts"`

	// History holds the last 64 scored verdicts, newest in bit 0: a bit is
	// 1 when that verdict failed (fail or error), 0 when it passed. Skips,
	// xfail and xpass are not scored. HistoryLen counts the valid bits.
	History    uint64 `json:"history"`
	HistoryLen int    `json:"history_len"`
	// RetryFlakes has a 1 bit, aligned with History, for each scored
	// verdict that was a retry flake (failed then passed within the result).
	RetryFlakes uint64 `json:"retry_flakes"`
	// CommitPass and CommitFail say whether the results of Commit (the
	// latest scored commit) in this environment passed and failed; when
	// both become true the commit disagrees with itself: Disagreements is
	// incremented, once per commit.
	CommitPass    bool   `json:"commit_pass,omitempty"`
	CommitFail    bool   `json:"commit_fail,omitempty"`
	ScoredCommit  string `json:"scored_commit,omitempty"`
	Disagreements int    `json:"disagreements"`
	// FlakeCount counts flake signals seen (retry flakes and same-commit
	// disagreements); FirstFlake and LastFlake are when the first and last
	// were seen (zero when none).
	FlakeCount int       `json:"flake_count"`
	FirstFlake time.Time `json:"first_flake,omitempty"`
	LastFlake  time.Time `json:"last_flake,omitempty"`
	// FlipTimes are the receipt times of the flips among the scored
	// verdicts History holds, newest first: a flip is a scored verdict whose
	// outcome (pass or fail) differs from the previous scored verdict's
	// (infrastructure failures are not scored, so never flip). Entry i is
	// the flip of the i-th set bit, from bit 0, of History ^ History>>1 over
	// HistoryLen-1 bits. A state folded before flip times were kept holds
	// fewer entries than flips: its oldest flips have no time. Nil when
	// none.
	FlipTimes []time.Time `json:"flip_times,omitempty"`
	// CleanRun counts the consecutive clean passes (a pass without a retry)
	// since the last failure or flake: the recovery counter.
	CleanRun int `json:"clean_run"`
	// InfraExcluded counts verdicts not scored because their result was an
	// infrastructure failure.
	InfraExcluded int `json:"infra_excluded"`
}

// FoldOptions tune Fold.
type FoldOptions struct {
	// A result is an infrastructure failure when at least InfraMinTests
	// distinct tests ran and at least InfraFraction of them failed or
	// errored: most tests failing at once says the machine, not the code,
	// broke. Its verdicts update the latest status but are not scored.
	// Defaults: 20 tests, 0.5.
	InfraMinTests int
	InfraFraction float64
}

// Observation is one test's verdict in one result, as Fold takes it.
type Observation struct {
	Suite, Name string
	Status      pony.Status
	Attempts    int
	RetryFlake  bool
}

// ResultInfo is what Fold needs of the result being folded in.
type ResultInfo struct {
	Package   string
	EnvKey    string
	Branch    string
	Commit    string
	ResultKey string
	Received  time.Time
	// Infra: the result is an infrastructure failure (IsInfraFailure).
	Infra bool
}

// Changes says how a result differs from the previous result of the same
// environment (and branch): stored with the result at ingest.
type Changes struct {
	// PreviousKey is the result compared with; empty for the first result
	// of an environment (then every test is New).
	PreviousKey  string    `json:"previous_key,omitempty"`
	NewlyFailing []TestRef `json:"newly_failing"`
	NewlyPassing []TestRef `json:"newly_passing"`
	NewlyFlaky   []TestRef `json:"newly_flaky"`
	// Vanished lists tests that the previous result had and this one has
	// not: a removed test must not hide as "±0".
	Vanished []TestRef `json:"vanished"`
	// New lists tests this result has and the previous had not.
	New []TestRef `json:"new"`
	// Infra is set when this result was judged an infrastructure failure.
	Infra bool `json:"infra,omitempty"`
}

// TestRef names a test of a package, with its status where it matters.
type TestRef struct {
	Suite  string      `json:"suite"`
	Name   string      `json:"name"`
	Status pony.Status `json:"status,omitempty"`
	Was    pony.Status `json:"was,omitempty"`
}

// EnvInfo is one environment of a package as the matrix sees it.
type EnvInfo struct {
	// Key is the store's opaque key of the environment (see
	// TestState.EnvKey).
	Key string `json:"key"`
	Env Env    `json:"env"`
	// ClientInfo is the client_info of the environment's latest result
	// (for axes named after arbitrary client_info keys).
	ClientInfo   pony.ClientInfo `json:"-"`
	LastReceived time.Time       `json:"last_received"`
	LastResult   string          `json:"last_result"`
}

// ExpectedEnv declares an environment a package expects results from: any
// environment matching Match (see Env.Matches) that reported within
// Interval satisfies it; otherwise it is shown as missing.
type ExpectedEnv struct {
	Name     string        `json:"name,omitempty"`
	Match    Env           `json:"match"`
	Interval time.Duration `json:"interval"`
}

// StateFilter selects the states of a package the matrix or the flaky
// ranking reads.
type StateFilter struct {
	Package string
	// Branch, when set, keeps that branch's states only; otherwise the
	// newest state of each (test, environment) over all branches is used.
	Branch string
}
