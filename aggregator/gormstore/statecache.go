package gormstore

import (
	"fmt"
	"strings"
	"sync"

	"gorm.io/gorm"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// stateCache keeps the last readings of TestStates by (package, branch),
// each with the version of the package's states it was read at (see
// statesVersion). A reading is served again only while the version read
// from the database is the same: an ingest on any replica changes it, so
// the cache is never stale, and a repeated matrix or flaky ranking skips
// the big read. At most max readings; the least recently used goes.
//
// It keeps, too, the flaky tests of each environment (see
// Store.flakyCounts), by environment key, with the version of the
// environment's states they were judged at and the options they were
// judged with: one small entry per environment, never evicted.
type stateCache struct {
	mu    sync.Mutex
	max   int
	tick  uint64
	m     map[stateCacheKey]*stateCacheEntry
	flaky map[string]flakyEnvEntry
	// names holds, by package, the suite and name of each test id read so
	// far: a test's identity row never changes.
	names map[string]map[int64]pony.TestKey
}

type flakyEnvEntry struct {
	version string
	opts    aggregator.FlakyOptions
	tests   []int64 // the flaky tests' ids
}

type stateCacheKey struct{ pkg, branch string }

type stateCacheEntry struct {
	version string
	// envs is the version of each environment's states in the reading
	// (see envVersions), so that a reading older than the package's
	// version is brought up to date by reading the changed environments
	// only.
	envs   map[string]string
	states []aggregator.TestState
	used   uint64
}

func newStateCache(n int) *stateCache {
	return &stateCache{max: n, m: make(map[stateCacheKey]*stateCacheEntry, n), flaky: map[string]flakyEnvEntry{},
		names: map[string]map[int64]pony.TestKey{}}
}

// last returns the reading of k kept, whatever its version, with the
// version of each environment's states in it. The caller must not change
// them (put replaces an entry, never changes one).
func (c *stateCache) last(k stateCacheKey) (envs map[string]string, states []aggregator.TestState, ok bool) {
	if c == nil {
		return nil, nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[k]
	if e == nil {
		return nil, nil, false
	}
	return e.envs, e.states, true
}

// testNames looks ids up among the names kept for pkg: it fills names
// with those it has and returns the others.
func (c *stateCache) testNames(pkg string, ids []int64, names map[int64]pony.TestKey) (unknown []int64) {
	if c == nil {
		return ids
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.names[pkg]
	for _, id := range ids {
		if k, ok := kept[id]; ok {
			names[id] = k
		} else {
			unknown = append(unknown, id)
		}
	}
	return unknown
}

// putTestNames keeps names read for pkg.
func (c *stateCache) putTestNames(pkg string, names map[int64]pony.TestKey) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	kept := c.names[pkg]
	if kept == nil {
		kept = make(map[int64]pony.TestKey, len(names))
		c.names[pkg] = kept
	}
	for id, k := range names {
		kept[id] = k
	}
}

// flakyTests returns the ids of the flaky tests of the environment env
// judged at version with opts, if kept. The caller must not change them.
func (c *stateCache) flakyTests(env, version string, opts aggregator.FlakyOptions) ([]int64, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.flaky[env]
	if !ok || e.version != version || e.opts != opts {
		return nil, false
	}
	return e.tests, true
}

// putFlakyTests keeps the ids of the flaky tests of the environment env
// judged at version with opts; the cache owns them.
func (c *stateCache) putFlakyTests(env, version string, opts aggregator.FlakyOptions, tests []int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flaky[env] = flakyEnvEntry{version: version, opts: opts, tests: tests}
}

// get returns a copy of the reading of k taken at version, if kept.
func (c *stateCache) get(k stateCacheKey, version string) ([]aggregator.TestState, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.m[k]
	if e == nil || e.version != version {
		return nil, false
	}
	c.tick++
	e.used = c.tick
	// A copy: the caller may sort or change its slice.
	return append([]aggregator.TestState(nil), e.states...), true
}

// put keeps a copy of a reading of k taken at version, its environments'
// states at the versions envs says.
func (c *stateCache) put(k stateCacheKey, version string, envs map[string]string, states []aggregator.TestState) {
	if c == nil {
		return
	}
	cp := append([]aggregator.TestState(nil), states...)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tick++
	if _, ok := c.m[k]; !ok && len(c.m) >= c.max {
		var old stateCacheKey
		first := true
		for key, e := range c.m {
			if first || e.used < c.m[old].used {
				old, first = key, false
			}
		}
		delete(c.m, old)
	}
	c.m[k] = &stateCacheEntry{version: version, envs: envs, states: cp, used: c.tick}
}

// envVersions reads the version of each of the package's environments'
// states, as flakyCounts does: on SQLite the highest id of its results
// (one writer, whose transactions take the ids in commit order, so that
// any new result of the environment, a late one too, raises it); on
// PostgreSQL the transaction id (xmin) of its envs row, which every result
// of the environment updates in its transaction (see statesVersion).
func (s *Store) envVersions(db *gorm.DB, pkg string) (map[string]string, error) {
	q := db.Raw(`SELECT env_key, MAX(id) || '' AS v FROM results WHERE package = ? GROUP BY env_key`, pkg)
	if s.dialect == dialectPostgres {
		q = db.Raw(`SELECT env_key, xmin::text AS v FROM envs WHERE package = ?`, pkg)
	}
	var rows []struct{ EnvKey, V string }
	if err := q.Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("read the environments' versions: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.EnvKey] = r.V
	}
	return out, nil
}

// statesVersion reads, in one small query, a value that changes whenever
// a result of the package is committed (every CreateResult of the package
// writes it in its transaction), whichever replica stored it.
//
// PostgreSQL: the transaction ids (xmin) of the package's envs rows: every
// CreateResult updates its environment's row (upsertEnvSQL touches it even
// for a late result), which gives the row a new version with the writing
// transaction's id, visible once committed. Result ids would not do: they
// come from a sequence, so a transaction holding a lower id can commit after
// a higher one was seen.
//
// SQLite: the highest result id. SQLite has one writer, whose IMMEDIATE
// transactions take the ids in commit order, so any new result raises it.
func (s *Store) statesVersion(db *gorm.DB, pkg string) (string, error) {
	q := db.Raw(`SELECT COALESCE(MAX(id), 0) || '' FROM results`)
	if s.dialect == dialectPostgres {
		q = db.Raw(`SELECT COALESCE(string_agg(env_key || ':' || xmin::text, ',' ORDER BY env_key), '') FROM envs WHERE package = ?`, pkg)
	}
	var v []string
	if err := q.Scan(&v).Error; err != nil {
		return "", fmt.Errorf("read the states' version: %w", err)
	}
	return strings.Join(v, ""), nil
}
