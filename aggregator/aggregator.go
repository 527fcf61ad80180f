// Package aggregator is pony-server's heart, free of storage and HTTP: the
// Service that ingests bags and answers questions about them, the small Store
// interface it needs, and the pure code (environments, should-build) over
// pony types. aggregator/gormstore implements the Store; aggregator/httpapi
// and web are its front ends.
package aggregator

import (
	"context"
	"time"

	"github.com/pony-build/pony"
)

// Env is an environment: pony-build's tagset (package, host, arch, tags)
// plus the runtime under test. Tags are sorted and deduplicated (see
// NewEnv).
type Env struct {
	Package string   `json:"package"`
	Host    string   `json:"host"`
	Arch    string   `json:"arch"`
	Runtime string   `json:"runtime,omitempty"`
	Tags    []string `json:"tags"`
}

// ResultSummary is a stored result without its steps: what lists show.
type ResultSummary struct {
	Key        string      `json:"result_key"`
	Received   time.Time   `json:"time"`
	ClientIP   string      `json:"client_ip,omitempty"`
	Env        Env         `json:"env"`
	Commit     string      `json:"commit,omitempty"`
	Branch     string      `json:"branch,omitempty"`
	BuildURL   string      `json:"build_url,omitempty"`
	Success    bool        `json:"success"`
	Incomplete bool        `json:"incomplete,omitempty"`
	Duration   float64     `json:"duration,omitempty"`
	Totals     pony.Totals `json:"totals"`
}

// ResultFilter selects results of one package, newest first.
type ResultFilter struct {
	Package string
	Host    string
	Arch    string
	Runtime string
	Branch  string
	// Tags: a result matches when it has every one of them.
	Tags []string
	// Limit caps the page; 0 means DefaultPageSize, and it is never over
	// MaxPageSize.
	Limit int
	// Before is the cursor of the previous page's Next: only results older
	// than it are returned.
	Before string
}

// Page sizes of result lists.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
)

// ResultPage is one page of results, newest first; Next is the cursor of
// the next page, "" on the last one.
type ResultPage struct {
	Results []ResultSummary `json:"results"`
	Next    string          `json:"next,omitempty"`
}

// PackageSummary is one package with the latest verdict of each of its
// environments. A package that expects environments (SetExpected) but has
// never reported has no results and no environments, its expected
// environments all missing.
type PackageSummary struct {
	Name    string `json:"package"`
	Results int    `json:"results"`
	// LastReceived is zero when the package has no results.
	LastReceived time.Time       `json:"last_received"`
	Environments []ResultSummary `json:"environments"`
	// Flaky counts the tests whose state is flaky in some environment: the
	// tests the flaky ranking (Service.Flaky over every branch) lists.
	Flaky int `json:"flaky"`
	// RetryFlakes counts the tests that were retry flakes (failed, then
	// passed on a rerun) in the latest result of some environment: a
	// narrower signal than Flaky, of the latest results only.
	RetryFlakes int `json:"retry_flakes"`
	// Expected says whether each environment the package expects reported
	// within its interval (see MissingExpected); absent when it expects
	// none.
	Expected []ExpectedStatus `json:"expected,omitempty"`
}

// Tagset is the latest result of one environment of a package.
type Tagset struct {
	Env    Env           `json:"env"`
	Latest ResultSummary `json:"latest"`
	// Results counts the environment's results.
	Results int `json:"results"`
	// Stale is set when the latest result is older than the Service's
	// StaleAfter.
	Stale bool `json:"stale"`
}

// TestHistoryFilter selects one test's verdicts, newest first.
type TestHistoryFilter struct {
	Package, Suite, Name string
	Host, Arch, Branch   string
	Limit                int
	Before               string
}

// TestVerdict is one test's verdict in one stored result.
type TestVerdict struct {
	ResultKey string      `json:"result_key"`
	Received  time.Time   `json:"time"`
	Env       Env         `json:"env"`
	Commit    string      `json:"commit,omitempty"`
	Branch    string      `json:"branch,omitempty"`
	Step      string      `json:"step"`
	Status    pony.Status `json:"status"`
	// Attempts is how many attempts the test had in that result; the
	// status is the last one's.
	Attempts   int     `json:"attempts"`
	RetryFlake bool    `json:"retry_flake,omitempty"`
	Duration   float64 `json:"duration,omitempty"`
	Message    string  `json:"message,omitempty"`
	File       string  `json:"file,omitempty"`
	Line       int     `json:"line,omitempty"`
}

// TestHistory is a page of one test's verdicts.
type TestHistory struct {
	Package  string        `json:"package"`
	Suite    string        `json:"suite"`
	Name     string        `json:"name"`
	Verdicts []TestVerdict `json:"verdicts"`
	Next     string        `json:"next,omitempty"`
}

// Scope is what a token allows.
type Scope string

// The scopes. A write token may also read.
const (
	ScopeRead  Scope = "read"
	ScopeWrite Scope = "write"
)

// Token is an API token as stored: only the SHA-256 of the secret is kept.
type Token struct {
	ID      string    `json:"id"`
	Hash    string    `json:"-"`       // hex SHA-256 of the secret
	Package string    `json:"package"` // "*" for every package
	Scope   Scope     `json:"scope"`
	Name    string    `json:"name,omitempty"`
	Created time.Time `json:"created"`
}

// Reservation records that a build machine said it is building an
// environment (pony-build's check_should_build with reserve_build), so that
// another machine asking is told "may be building now" until Until.
type Reservation struct {
	Env   Env
	Until time.Time
}

// CreateOptions accompany a result being stored.
type CreateOptions struct {
	IdempotencyKey string
	// AuthKeyHash is the hex SHA-256 of the result's auth key (pony-build's
	// auth_key, later the update token of an incremental run).
	AuthKeyHash string
	// Axes are the client_info keys that make environments (Options.Axes):
	// the store derives the result's environment with NewEnv(ci, Axes...).
	Axes []string
}

// Store is what the Service needs from storage. Every method honours ctx.
// Errors: ErrNotFound (possibly wrapped) for what does not exist.
type Store interface {
	// CreateResult stores the bag (its Receipt set by the Service) in one
	// transaction, all or nothing. When opts.IdempotencyKey is not empty
	// and a result was already stored with it, CreateResult stores nothing
	// and returns that result's receipt with existed true; two concurrent
	// calls with one key (even on two server replicas) store one result.
	CreateResult(ctx context.Context, bag *pony.Bag, opts CreateOptions) (receipt pony.Receipt, existed bool, err error)
	// Result returns a stored bag, receipt included.
	Result(ctx context.Context, key string) (*pony.Bag, error)
	// Results lists a package's results, newest first.
	Results(ctx context.Context, f ResultFilter) (ResultPage, error)
	// Packages lists every package that has results, by name, with the
	// latest result of each of its environments, its retry flakes (see
	// PackageSummary) and its flaky tests judged with opts (as a
	// FlakyCounter would count its states over every branch); Expected is
	// left empty.
	Packages(ctx context.Context, opts FlakyOptions) ([]PackageSummary, error)
	// Tagsets returns the latest result of each environment of a package,
	// with the environment's result count.
	Tagsets(ctx context.Context, pkg string) ([]Tagset, error)
	// TestHistory lists one test's verdicts, newest first.
	TestHistory(ctx context.Context, f TestHistoryFilter) (TestHistory, error)

	// Reserve records a build reservation (replacing an earlier one for the
	// same environment); Reservation returns the one in force, if any.
	Reserve(ctx context.Context, r Reservation) error
	Reservation(ctx context.Context, env Env) (Reservation, bool, error)
	// RequestBuild marks an environment as wanted (pony-build's "build
	// requested"); TakeBuildRequest reports and clears it.
	RequestBuild(ctx context.Context, env Env) error
	TakeBuildRequest(ctx context.Context, env Env) (bool, error)

	// CreateToken stores a token; TokenByHash finds one by the hex SHA-256
	// of its secret; CountTokens says whether any exists.
	CreateToken(ctx context.Context, t Token) error
	TokenByHash(ctx context.Context, hash string) (Token, error)
	CountTokens(ctx context.Context) (int, error)

	// Ping checks that the store can be reached.
	Ping(ctx context.Context) error

	// TestStates returns the kept-current states of a package's tests
	// (see TestState and Fold: CreateResult folds every result into them
	// in its own transaction) and the package's environments.
	TestStates(ctx context.Context, f StateFilter) ([]TestState, []EnvInfo, error)
	// Changes returns what CreateResult recorded of how a result differs
	// from the previous result of its environment and branch.
	Changes(ctx context.Context, resultKey string) (Changes, error)
	// SetExpected replaces the environments a package expects; Expected
	// returns them.
	SetExpected(ctx context.Context, pkg string, envs []ExpectedEnv) error
	Expected(ctx context.Context, pkg string) ([]ExpectedEnv, error)

	// The batch reads, so that a page is a fixed number of queries however
	// many packages or results it shows (aggregator/service_batch.go).

	// ExpectedAll returns the expected environments of every package that
	// has some, by package, each package's in the order SetExpected was
	// given them.
	ExpectedAll(ctx context.Context) (map[string][]ExpectedEnv, error)
	// ChangesFor returns the recorded changes (see Changes) of each of the
	// results that exist among keys, by result key; a key that names no
	// result is absent from the map, not an error.
	ChangesFor(ctx context.Context, keys []string) (map[string]Changes, error)
	// RecentResults returns the newest results of every package, newest
	// first, at most limit. With failuresOnly it keeps only the failing ones
	// (a failing or erroring test, or an unsuccessful run) among the newest
	// RecentFailuresScan results.
	RecentResults(ctx context.Context, limit int, failuresOnly bool) ([]ResultSummary, error)

	// The incremental runs (run.go).

	// CreateRun stores a new run; when a run with r.IdempotencyKey exists it
	// stores nothing and returns that run's record with existed true.
	CreateRun(ctx context.Context, r RunRecord) (rec RunRecord, existed bool, err error)
	// RunRecord returns a run by result key, steps included (ErrNotFound
	// when none).
	RunRecord(ctx context.Context, key string) (RunRecord, error)
	// RunByIdempotencyKey returns the run opened with that key (ErrNotFound
	// when none).
	RunByIdempotencyKey(ctx context.Context, idem string) (RunRecord, error)
	// AppendRunStep stores step as number seq of the run when seq equals the
	// number of steps stored, in one transaction, and sets Updated (and
	// State running: it revives an abandoned run). It returns the number of
	// steps now stored and whether it stored this one (false for a replay,
	// seq < n). seq > n: an *Error EConflict. A complete run: EConflict.
	AppendRunStep(ctx context.Context, key string, seq int, step pony.Step, now time.Time) (next int, stored bool, err error)
	// SetRunProgress records progress and Updated (reviving an abandoned
	// run).
	SetRunProgress(ctx context.Context, key string, p RunProgress, now time.Time) error
	// CompleteRun, in ONE transaction, marks the run complete (conditionally:
	// only if not complete yet) and stores bag exactly as CreateResult does
	// (bag.Receipt.ResultKey is the run's key, opts.IdempotencyKey the
	// run's). When the run was already complete it stores nothing and
	// returns the stored result's receipt with existed true (two replicas
	// finishing at once store one result).
	CompleteRun(ctx context.Context, key string, bag *pony.Bag, opts CreateOptions) (pony.Receipt, bool, error)
	// AbandonRuns marks running runs whose Updated is before idleSince
	// abandoned; it returns how many.
	AbandonRuns(ctx context.Context, idleSince time.Time) (int, error)
	// Runs lists a package's runs in the given states, running first,
	// newest first, at most limit, steps included.
	Runs(ctx context.Context, pkg string, states []RunState, limit int) ([]Run, error)
}

// RecentFailuresScan bounds the search of Store.RecentResults for failing
// results: only the newest RecentFailuresScan results are looked at, so
// that the read stays cheap on a store where failures are rare.
const RecentFailuresScan = 2000
