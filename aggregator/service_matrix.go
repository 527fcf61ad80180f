package aggregator

import (
	"context"
	"fmt"
)

// MatrixQuery is a matrix request as the API takes it.
type MatrixQuery struct {
	// Rows is "suite" (default) or "test".
	Rows string
	// Cols is a comma-separated list of axes (see ParseAxes); empty means
	// DefaultCols.
	Cols string
	// Branch keeps one branch's verdicts; empty takes the newest verdict
	// of each test and environment over every branch.
	Branch string
	// Filter is "all" (default), "failing", "flaky" or "differs".
	Filter string
}

// maxExpected caps the expected environments of one package.
const maxExpected = 200

// Matrix returns a package's compatibility matrix (see BuildMatrix), read
// from the kept-current test states: it never scans history.
func (s *Service) Matrix(ctx context.Context, pkg string, q MatrixQuery) (Matrix, error) {
	if pkg == "" {
		return Matrix{}, Errorf(EInvalid, "package is required")
	}
	opts := MatrixOptions{Now: s.opts.Now(), StaleAfter: s.opts.StaleAfter, Flaky: s.opts.Flaky}
	switch q.Rows {
	case "", RowsSuite:
		opts.Rows = RowsSuite
	case RowsTest:
		opts.Rows = RowsTest
	default:
		return Matrix{}, Errorf(EInvalid, "rows must be suite or test, not %q", q.Rows)
	}
	switch q.Filter {
	case "", FilterAll:
		opts.Filter = FilterAll
	case FilterFailing, FilterFlaky, FilterDiffers:
		opts.Filter = q.Filter
	default:
		return Matrix{}, Errorf(EInvalid, "filter must be all, failing, flaky or differs, not %q", q.Filter)
	}
	axes, err := ParseAxes(q.Cols)
	if err != nil {
		return Matrix{}, Errorf(EInvalid, "cols: %v", err)
	}
	opts.Axes = axes
	states, envs, err := s.store.TestStates(ctx, StateFilter{Package: pkg, Branch: q.Branch})
	if err != nil {
		return Matrix{}, fmt.Errorf("read test states: %w", err)
	}
	expected, err := s.store.Expected(ctx, pkg)
	if err != nil && ErrorCode(err) != ENotFound {
		return Matrix{}, fmt.Errorf("read expected environments: %w", err)
	}
	if len(envs) == 0 && len(expected) == 0 {
		return Matrix{}, Errorf(ENotFound, "package %q has no results", pkg)
	}
	opts.Branch = q.Branch
	return BuildMatrix(states, envs, expected, opts), nil
}

// Flaky ranks a package's flaky tests (see RankFlaky) on one branch, or
// over the newest verdicts of every branch when branch is empty.
func (s *Service) Flaky(ctx context.Context, pkg, branch string) ([]FlakyTest, error) {
	return s.Flakiness(ctx, pkg, FlakyQuery{Branch: branch})
}

// FlakyQuery is a flakiness request as the API takes it.
type FlakyQuery struct {
	// Branch keeps one branch's verdicts; empty takes the newest verdict
	// of each test and environment over every branch.
	Branch string
	// State selects the tests listed by the states of their environments:
	// a comma-separated list (see ParseStateSelection); empty means flaky.
	State string
}

// Flakiness ranks a package's tests in the states q selects (see
// RankTests): the flaky ones by default, or the broken ones (failing
// steadily, not flaky), the new, the healthy, the recovered, or all.
func (s *Service) Flakiness(ctx context.Context, pkg string, q FlakyQuery) ([]FlakyTest, error) {
	if pkg == "" {
		return nil, Errorf(EInvalid, "package is required")
	}
	sel, err := ParseStateSelection(q.State)
	if err != nil {
		return nil, err
	}
	states, envs, err := s.store.TestStates(ctx, StateFilter{Package: pkg, Branch: q.Branch})
	if err != nil {
		return nil, fmt.Errorf("read test states: %w", err)
	}
	return RankTests(states, envs, s.opts.Flaky, sel), nil
}

// Changes returns how a result differs from the previous result of its
// environment and branch, as recorded at ingest.
func (s *Service) Changes(ctx context.Context, key string) (Changes, error) {
	if key == "" || len(key) > 128 {
		return Changes{}, Errorf(EInvalid, "bad result key %q", key)
	}
	c, err := s.store.Changes(ctx, key)
	if err != nil {
		return Changes{}, notFound(err, "no changes recorded for result %q", key)
	}
	return c, nil
}

// SetExpected replaces the environments a package expects results from.
// Each must match the package (an empty Match.Package is set to it); a
// zero Interval takes the Service's StaleAfter; names must be unique.
func (s *Service) SetExpected(ctx context.Context, pkg string, envs []ExpectedEnv) error {
	if pkg == "" {
		return Errorf(EInvalid, "package is required")
	}
	if len(envs) > maxExpected {
		return Errorf(EInvalid, "%d expected environments, over the limit of %d", len(envs), maxExpected)
	}
	out := make([]ExpectedEnv, len(envs))
	names := map[string]bool{}
	for i, x := range envs {
		switch {
		case x.Match.Package == "":
			x.Match.Package = pkg
		case x.Match.Package != pkg:
			return Errorf(EInvalid, "expected environment %d is for package %q, not %q", i+1, x.Match.Package, pkg)
		}
		if x.Interval < 0 {
			return Errorf(EInvalid, "expected environment %d: interval %s is negative", i+1, x.Interval)
		}
		if x.Interval == 0 {
			x.Interval = s.opts.StaleAfter
		}
		if x.Name != "" {
			if names[x.Name] {
				return Errorf(EInvalid, "expected environment name %q is used twice", x.Name)
			}
			names[x.Name] = true
		}
		x.Match.Tags = normTags(x.Match.Tags)
		out[i] = x
	}
	return s.store.SetExpected(ctx, pkg, out)
}

// Expected returns the environments a package expects.
func (s *Service) Expected(ctx context.Context, pkg string) ([]ExpectedEnv, error) {
	if pkg == "" {
		return nil, Errorf(EInvalid, "package is required")
	}
	return s.store.Expected(ctx, pkg)
}

// TagsetsWithExpected returns the package's environments (see Tagsets)
// and whether each expected environment reported within its interval.
func (s *Service) TagsetsWithExpected(ctx context.Context, pkg string) ([]Tagset, []ExpectedStatus, error) {
	ts, err := s.Tagsets(ctx, pkg)
	if err != nil {
		return nil, nil, err
	}
	expected, err := s.Expected(ctx, pkg)
	if err != nil {
		return nil, nil, err
	}
	envs := make([]EnvInfo, len(ts))
	for i, t := range ts {
		envs[i] = EnvInfo{Key: t.Env.Key(), Env: t.Env, LastReceived: t.Latest.Received, LastResult: t.Latest.Key}
	}
	return ts, MissingExpected(expected, envs, s.opts.Now()), nil
}
