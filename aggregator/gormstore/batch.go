package gormstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pony-build/pony/aggregator"
)

// The batch reads of the pages (aggregator.Store's ExpectedAll, ChangesFor
// and RecentResults): one query each, however many packages or results,
// except ChangesFor, which splits its keys into batches of keysPerQuery
// to stay under the bind-parameter limits (SQLite's 32,766, PostgreSQL's
// 65,535).

// keysPerQuery is how many result keys one query of ChangesFor binds.
const keysPerQuery = 500

// ExpectedAll returns every package's expected environments in one query,
// by package, in each package's order.
func (s *Store) ExpectedAll(ctx context.Context) (map[string][]aggregator.ExpectedEnv, error) {
	var rows []expectedEnvRow
	if err := s.r.WithContext(ctx).Order("package, idx").Find(&rows).Error; err != nil {
		return nil, storeErr("read expected environments", err)
	}
	out := map[string][]aggregator.ExpectedEnv{}
	for _, r := range rows {
		x := aggregator.ExpectedEnv{Name: r.Name, Interval: time.Duration(r.IntervalMs) * time.Millisecond}
		if err := json.Unmarshal([]byte(r.Match), &x.Match); err != nil {
			return nil, fmt.Errorf("read expected environments of %s: %w", r.Package, err)
		}
		out[r.Package] = append(out[r.Package], x)
	}
	return out, nil
}

// ChangesFor returns the recorded changes of the results among keys, by
// key: one query per keysPerQuery keys. Keys naming no result are absent.
func (s *Store) ChangesFor(ctx context.Context, keys []string) (map[string]aggregator.Changes, error) {
	out := make(map[string]aggregator.Changes, len(keys))
	for start := 0; start < len(keys); start += keysPerQuery {
		batch := keys[start:min(len(keys), start+keysPerQuery)]
		var rows []struct {
			ResultKey string
			Changes   *string
			Infra     bool
		}
		if err := s.r.WithContext(ctx).Raw(`SELECT result_key, changes, infra FROM results WHERE result_key IN ?`, batch).Scan(&rows).Error; err != nil {
			return nil, storeErr("read changes", err)
		}
		for _, r := range rows {
			if r.Changes == nil { // stored with the upkeep off (benchmarks only)
				out[r.ResultKey] = aggregator.Changes{Infra: r.Infra}
				continue
			}
			var c aggregator.Changes
			if err := json.Unmarshal([]byte(*r.Changes), &c); err != nil {
				return nil, fmt.Errorf("read changes of %s: %w", r.ResultKey, err)
			}
			out[r.ResultKey] = c
		}
	}
	return out, nil
}

// RecentResults returns the newest results of every package, newest first,
// in one query; failuresOnly keeps the failing ones among the newest
// aggregator.RecentFailuresScan (a range of the primary key, whatever the
// table's size).
func (s *Store) RecentResults(ctx context.Context, limit int, failuresOnly bool) ([]aggregator.ResultSummary, error) {
	q := s.r.WithContext(ctx).Model(&resultRow{}).Select(summaryColumns)
	if failuresOnly {
		q = q.Where("results.id > (SELECT COALESCE(MAX(id), 0) FROM results) - ?", aggregator.RecentFailuresScan).
			Where("(results.n_fail + results.n_error > 0 OR NOT results.success)")
	}
	var rows []resultRow
	if err := q.Order("results.id DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, storeErr("list recent results", err)
	}
	out := make([]aggregator.ResultSummary, len(rows))
	for i := range rows {
		out[i] = rows[i].summary()
	}
	return out, nil
}
