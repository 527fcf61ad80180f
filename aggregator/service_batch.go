package aggregator

import (
	"context"
	"fmt"
)

// maxBatchKeys caps the result keys of one ChangesFor call.
const maxBatchKeys = 10000

// ExpectedAll returns the expected environments of every package that has
// some, by package: what the scoreboard needs in one read instead of one
// Expected call per package.
func (s *Service) ExpectedAll(ctx context.Context) (map[string][]ExpectedEnv, error) {
	m, err := s.store.ExpectedAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("read expected environments: %w", err)
	}
	return m, nil
}

// ChangesFor returns the recorded changes of several results at once, by
// result key (see Changes); keys naming no result are absent from the map.
func (s *Service) ChangesFor(ctx context.Context, keys []string) (map[string]Changes, error) {
	if len(keys) > maxBatchKeys {
		return nil, Errorf(EInvalid, "%d result keys, over the limit of %d", len(keys), maxBatchKeys)
	}
	valid := make([]string, 0, len(keys))
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if k == "" || len(k) > 128 {
			return nil, Errorf(EInvalid, "bad result key %q", k)
		}
		if !seen[k] {
			seen[k] = true
			valid = append(valid, k)
		}
	}
	if len(valid) == 0 {
		return map[string]Changes{}, nil
	}
	m, err := s.store.ChangesFor(ctx, valid)
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	return m, nil
}

// RecentResults returns the newest results of every package, newest
// first: limit 0 means DefaultPageSize, never over MaxPageSize. With
// failuresOnly, the failing ones among the newest RecentFailuresScan.
func (s *Service) RecentResults(ctx context.Context, limit int, failuresOnly bool) ([]ResultSummary, error) {
	if limit <= 0 {
		limit = DefaultPageSize
	}
	return s.store.RecentResults(ctx, min(limit, MaxPageSize), failuresOnly)
}
