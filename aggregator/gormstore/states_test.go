package gormstore

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// foldModel folds bags in Go with aggregator's pure functions, in the order
// given, as the store must: the reference the store's states and changes
// are compared with.
type foldModel struct {
	states map[modelKey]*aggregator.TestState
	hist   map[[2]string][]modelResult // by (env key, branch), in ingest order
	envs   map[string]aggregator.EnvInfo
}

type modelKey struct{ env, branch, suite, name string }

type modelResult struct {
	key   string
	t     time.Time
	obs   []aggregator.Observation
	infra bool
}

func newFoldModel() *foldModel {
	return &foldModel{states: map[modelKey]*aggregator.TestState{}, hist: map[[2]string][]modelResult{}, envs: map[string]aggregator.EnvInfo{}}
}

func before(at time.Time, ak string, bt time.Time, bk string) bool {
	return at.Before(bt) || (at.Equal(bt) && ak < bk)
}

// add folds a bag in and returns the changes it should have.
func (m *foldModel) add(bag *pony.Bag) aggregator.Changes {
	env := aggregator.NewEnv(bag.ClientInfo)
	ek := envKey(env)
	t := msUTC(bag.Receipt.Time)
	key := bag.Receipt.ResultKey
	obs := aggregator.Observations(bag)
	infra := aggregator.IsInfraFailure(obs, aggregator.FoldOptions{})
	eb := [2]string{ek, bag.ClientInfo.Branch}
	// The previous result: the newest received before this one.
	var prevKey string
	var prev []aggregator.TestState
	var p *modelResult
	newest := true
	for i := range m.hist[eb] {
		h := &m.hist[eb][i]
		if before(h.t, h.key, t, key) {
			if p == nil || before(p.t, p.key, h.t, h.key) {
				p = h
			}
		} else {
			newest = false
		}
	}
	if p != nil {
		prevKey = p.key
		if newest {
			for _, st := range m.states {
				if st.EnvKey == ek && st.Branch == eb[1] && st.ResultKey == prevKey {
					prev = append(prev, *st)
				}
			}
		} else { // late: the previous result's own verdicts
			for _, o := range p.obs {
				st := aggregator.TestState{Suite: o.Suite, Name: o.Name, Status: o.Status, ResultKey: p.key, Infra: p.infra}
				if aggregator.Scored(o.Status) {
					st.HistoryLen = 1
					if o.RetryFlake {
						st.RetryFlakes = 1
					}
				}
				prev = append(prev, st)
			}
		}
	}
	ch := aggregator.DiffChanges(prevKey, prev, obs, infra)
	ri := aggregator.ResultInfo{Package: env.Package, EnvKey: ek, Branch: eb[1], Commit: bag.ClientInfo.Commit, ResultKey: key, Received: t, Infra: infra}
	for _, o := range obs {
		k := modelKey{ek, eb[1], o.Suite, o.Name}
		st := aggregator.Fold(m.states[k], ri, o, aggregator.FoldOptions{})
		m.states[k] = &st
	}
	m.hist[eb] = append(m.hist[eb], modelResult{key, t, obs, infra})
	if e, ok := m.envs[ek]; !ok || before(e.LastReceived, e.LastResult, t, key) {
		m.envs[ek] = aggregator.EnvInfo{Key: ek, Env: env, ClientInfo: bag.ClientInfo, LastReceived: t, LastResult: key}
	}
	return ch
}

// want returns the states the store should return for f.
func (m *foldModel) want(f aggregator.StateFilter) []aggregator.TestState {
	best := map[[3]string]aggregator.TestState{}
	for k, st := range m.states {
		if st.Package != f.Package || (f.Branch != "" && k.branch != f.Branch) {
			continue
		}
		bk := [3]string{k.env, k.suite, k.name}
		if f.Branch != "" {
			bk = [3]string{k.env + "\x00" + k.branch, k.suite, k.name}
		}
		if o, ok := best[bk]; !ok || before(o.Received, o.ResultKey, st.Received, st.ResultKey) {
			best[bk] = *st
		}
	}
	out := make([]aggregator.TestState, 0, len(best))
	for _, st := range best {
		out = append(out, st)
	}
	sortStates(out)
	return out
}

func sortStates(s []aggregator.TestState) {
	sort.Slice(s, func(i, j int) bool {
		a, b := &s[i], &s[j]
		if a.Suite != b.Suite {
			return a.Suite < b.Suite
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.EnvKey != b.EnvKey {
			return a.EnvKey < b.EnvKey
		}
		return a.Branch < b.Branch
	})
}

// compareStates reports every field that differs.
func compareStates(t *testing.T, what string, got, want []aggregator.TestState) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d states, want %d", what, len(got), len(want))
		return
	}
	bad := 0
	for i := range got {
		g, w := reflect.ValueOf(got[i]), reflect.ValueOf(want[i])
		for f := 0; f < g.NumField(); f++ {
			gv, wv := g.Field(f).Interface(), w.Field(f).Interface()
			if gt, ok := gv.(time.Time); ok {
				if !gt.Equal(wv.(time.Time)) {
					t.Errorf("%s: %s %s: %s: got %v, want %v", what, got[i].Suite, got[i].Name, g.Type().Field(f).Name, gv, wv)
					bad++
				}
				continue
			}
			if !reflect.DeepEqual(gv, wv) {
				t.Errorf("%s: %s %s env %.8s branch %q: %s: got %v, want %v", what, want[i].Suite, want[i].Name, want[i].EnvKey, want[i].Branch, g.Type().Field(f).Name, gv, wv)
				bad++
			}
		}
		if bad > 20 {
			t.Fatalf("%s: too many differences", what)
		}
	}
}

// scenario generates a history of bags: three environments, two branches,
// 30 tests in two suites; a flaky test (retry flakes and same-commit
// disagreements), a test that breaks for good, skips, a test that vanishes
// and one that appears, a two-step result holding a test twice, an
// infrastructure failure, and one result received before results already
// stored (it arrives late).
func scenario() []*pony.Bag {
	rng := rand.New(rand.NewSource(4))
	envs := []aggregator.Env{
		{Package: "eq", Host: "linux1", Arch: "amd64", Runtime: "go1.22", Tags: []string{"ci"}},
		{Package: "eq", Host: "linux1", Arch: "amd64", Runtime: "go1.23", Tags: []string{"ci"}},
		{Package: "eq", Host: "mac", Arch: "arm64", Runtime: "go1.23"},
	}
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var bags []*pony.Bag
	for r := 0; r < 48; r++ {
		env := envs[r%3]
		branch := "main"
		if r%4 == 3 {
			branch = "dev"
		}
		st := pony.Step{Type: "test", Name: "go test", Format: "gotest"}
		for i := 0; i < 30; i++ {
			if i == 9 && r > 20 && r%3 == 0 { // vanishes from env 0
				continue
			}
			if i == 29 && r < 15 { // new from result 15
				continue
			}
			tr := pony.TestResult{Suite: fmt.Sprintf("example.com/p%d", i%2), Name: fmt.Sprintf("Test%02d", i), Status: pony.StatusPass}
			switch {
			case i == 3 && rng.Intn(3) == 0: // flaky: fails, then passes on retry
				f := tr
				f.Status, f.Attempt, f.Message = pony.StatusFail, 1, "timeout"
				st.Tests = append(st.Tests, f)
				tr.Attempt = 2
			case i == 4 && rng.Intn(4) == 0: // flaky without retries
				tr.Status = pony.StatusFail
			case i == 5 && r >= 10: // broken for good
				tr.Status = pony.StatusError
			case i == 7 && r%5 == 0:
				tr.Status = pony.StatusSkip
			case i == 8 && r%6 == 1:
				tr.Status = pony.StatusXFail
			}
			st.Tests = append(st.Tests, tr)
		}
		steps := []pony.Step{st}
		if r%7 == 2 { // a second step running test 0 again, failing
			steps = append(steps, pony.Step{Type: "test", Name: "rerun", Tests: []pony.TestResult{{Suite: "example.com/p0", Name: "Test00", Status: pony.StatusFail}}})
		}
		if r == 25 { // infrastructure failure: everything errors
			for i := range steps[0].Tests {
				steps[0].Tests[i].Status = pony.StatusError
			}
		}
		bag := newBag(env, branch, steps...)
		bag.ClientInfo.Commit = fmt.Sprintf("c%02d", r/6)
		bag.Receipt.Time = base.Add(time.Duration(r) * time.Minute)
		bag.Receipt.ResultKey = fmt.Sprintf("r%03d", r)
		if r == 40 { // arrives late: received before results 34..39
			bag.Receipt.Time = base.Add(33*time.Minute + 500*time.Millisecond)
		}
		bags = append(bags, bag)
	}
	return bags
}

// checkAgainstModel compares the store's states (every branch and each),
// environments and the given changes with the model's.
func checkAgainstModel(t *testing.T, s *Store, m *foldModel, pkg string, changes map[string]aggregator.Changes) {
	t.Helper()
	ctx := context.Background()
	for _, br := range []string{"", "main", "dev"} {
		got, envs, err := s.TestStates(ctx, aggregator.StateFilter{Package: pkg, Branch: br})
		if err != nil {
			t.Fatal(err)
		}
		compareStates(t, fmt.Sprintf("branch %q", br), got, m.want(aggregator.StateFilter{Package: pkg, Branch: br}))
		if len(envs) != len(m.envs) {
			t.Errorf("environments: got %d, want %d", len(envs), len(m.envs))
		}
		for _, e := range envs {
			w := m.envs[e.Key]
			if e.LastResult != w.LastResult || !e.LastReceived.Equal(w.LastReceived) || !reflect.DeepEqual(e.Env, w.Env) || e.ClientInfo.Commit != w.ClientInfo.Commit {
				t.Errorf("environment %.8s: got %+v, want %+v", e.Key, e, w)
			}
		}
	}
	for key, want := range changes {
		got, err := s.Changes(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		// The stored form is JSON: compare in it.
		wb, _ := json.Marshal(want)
		gb, _ := json.Marshal(got)
		if string(gb) != string(wb) {
			t.Errorf("changes of %s:\ngot  %s\nwant %s", key, gb, wb)
		}
	}
}

func TestStatesEquivalentToFold(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		s := newTestStore(t, d)
		m := newFoldModel()
		changes := map[string]aggregator.Changes{}
		signals := map[string]int{}
		for _, bag := range scenario() {
			mustCreate(t, s, bag, aggregator.CreateOptions{})
			ch := m.add(bag)
			changes[bag.Receipt.ResultKey] = ch
			signals["failing"] += len(ch.NewlyFailing)
			signals["passing"] += len(ch.NewlyPassing)
			signals["flaky"] += len(ch.NewlyFlaky)
			signals["vanished"] += len(ch.Vanished)
			if ch.Infra {
				signals["infra"]++
			}
		}
		// The scenario exercises what it claims to.
		for _, k := range []string{"failing", "passing", "flaky", "vanished", "infra"} {
			if signals[k] == 0 {
				t.Errorf("scenario: no %s change", k)
			}
		}
		for _, st := range m.states {
			if st.Disagreements > 0 {
				signals["disagree"]++
			}
			if st.InfraExcluded > 0 {
				signals["excluded"]++
			}
		}
		if signals["disagree"] == 0 || signals["excluded"] == 0 {
			t.Errorf("scenario: disagreements in %d states, infra exclusions in %d: want some of each", signals["disagree"], signals["excluded"])
		}
		checkAgainstModel(t, s, m, "eq", changes)
		// A package without results has no states.
		if got, envs, err := s.TestStates(context.Background(), aggregator.StateFilter{Package: "none"}); err != nil || len(got) != 0 || len(envs) != 0 {
			t.Errorf("TestStates of an unknown package: got %d states, %d envs, %v; want none", len(got), len(envs), err)
		}
		if _, err := s.Changes(context.Background(), "nope"); err == nil {
			t.Errorf("Changes of an unknown result: got no error, want ErrNotFound")
		}
	})
}

func TestStatesConcurrentIngest(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		dsn := newTestDSN(t, d)
		// Two stores on one database: two server replicas.
		stores := []*Store{openTestStore(t, dsn, Options{Migrate: true}), openTestStore(t, dsn, Options{Migrate: true})}
		env := aggregator.Env{Package: "conc", Host: "h", Arch: "a", Runtime: "go1.23"}
		const each = 12
		bags := map[string]*pony.Bag{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for g := 0; g < 2; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewSource(int64(g)))
				for j := 0; j < each; j++ {
					st := pony.Step{Type: "test", Name: "t"}
					for i := 0; i < 40; i++ {
						tr := pony.TestResult{Suite: "s", Name: fmt.Sprintf("T%02d", i), Status: pony.StatusPass}
						if rng.Intn(5) == 0 {
							tr.Status = pony.StatusFail
						}
						st.Tests = append(st.Tests, tr)
					}
					bag := newBag(env, "main", st)
					bag.ClientInfo.Commit = fmt.Sprintf("c%d", j/3)
					if _, _, err := stores[g].CreateResult(context.Background(), bag, aggregator.CreateOptions{}); err != nil {
						t.Errorf("replica %d: %v", g, err)
						return
					}
					mu.Lock()
					bags[bag.Receipt.ResultKey] = bag
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		// The folds ran in result id order (ids are taken under the lock):
		// folding the same bags serially in that order must give the same.
		var keys []string
		if err := stores[0].r.Table("results").Order("id").Pluck("result_key", &keys).Error; err != nil {
			t.Fatal(err)
		}
		m := newFoldModel()
		changes := map[string]aggregator.Changes{}
		for _, k := range keys {
			changes[k] = m.add(bags[k])
		}
		checkAgainstModel(t, stores[1], m, "conc", changes)
		got, _, err := stores[0].TestStates(context.Background(), aggregator.StateFilter{Package: "conc"})
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range got {
			if st.Verdicts != 2*each {
				t.Errorf("%s verdicts: got %d, want %d", st.Name, st.Verdicts, 2*each)
			}
		}
		if len(got) != 40 {
			t.Errorf("states: got %d, want 40", len(got))
		}
	})
}

func TestExpectedEnvs(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		s := newTestStore(t, d)
		ctx := context.Background()
		if got, err := s.Expected(ctx, "p"); err != nil || len(got) != 0 {
			t.Fatalf("Expected before any: got %v, %v; want none", got, err)
		}
		want := []aggregator.ExpectedEnv{
			{Name: "linux go1.23", Match: aggregator.Env{Package: "p", Host: "linux1", Arch: "amd64", Runtime: "go1.23", Tags: []string{"ci"}}, Interval: 26 * time.Hour},
			{Match: aggregator.Env{Package: "p", Arch: "arm64", Tags: []string{}}, Interval: 90 * time.Minute},
		}
		if err := s.SetExpected(ctx, "p", want); err != nil {
			t.Fatal(err)
		}
		if err := s.SetExpected(ctx, "q", want[:1]); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Expected(ctx, "p"); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Expected: got %+v, %v; want %+v", got, err, want)
		}
		// Replacing: the new list only.
		if err := s.SetExpected(ctx, "p", want[1:]); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Expected(ctx, "p"); err != nil || !reflect.DeepEqual(got, want[1:]) {
			t.Errorf("Expected after replacing: got %+v, %v; want %+v", got, err, want[1:])
		}
		if err := s.SetExpected(ctx, "p", nil); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Expected(ctx, "p"); err != nil || len(got) != 0 {
			t.Errorf("Expected after clearing: got %+v, %v; want none", got, err)
		}
		if got, err := s.Expected(ctx, "q"); err != nil || len(got) != 1 {
			t.Errorf("Expected of another package: got %+v, %v; want its one", got, err)
		}
	})
}

// TestMigrationBackfillsStates stores results in a 0002 database (as the
// previous server did, without changes or states), migrates, and compares
// the backfilled states and changes with the model's and with a store that
// ingested the same bags live.
func TestMigrationBackfillsStates(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		ctx := context.Background()
		dsn := newTestDSN(t, d)
		old, err := open(ctx, dsn, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { old.Close() })
		if err := old.migrateTo(ctx, "0002_query_indexes"); err != nil {
			t.Fatal(err)
		}
		bags := scenario()
		// Receipt order, as the backfill folds (no result arrives late).
		sort.SliceStable(bags, func(i, j int) bool {
			return before(bags[i].Receipt.Time, bags[i].Receipt.ResultKey, bags[j].Receipt.Time, bags[j].Receipt.ResultKey)
		})
		m := newFoldModel()
		changes := map[string]aggregator.Changes{}
		for _, bag := range bags {
			row, err := newResultRow(bag, *bag.Receipt, aggregator.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			row.ReceivedAt = msUTC(row.ReceivedAt)
			err = old.w.Transaction(func(tx *gorm.DB) error {
				// The 0002 results table: no changes, no infra.
				if err := tx.Omit("Changes", "Infra").Create(row).Error; err != nil {
					return err
				}
				_, err := old.createChildren(tx, row, bag, nil)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			changes[bag.Receipt.ResultKey] = m.add(bag)
		}
		if _, err := Open(ctx, dsn, Options{}); err == nil {
			t.Fatalf("open a 0002 database: got no error, want a not-up-to-date error")
		}
		s := openTestStore(t, dsn, Options{Migrate: true})
		checkAgainstModel(t, s, m, "eq", changes)

		// And the same as ingesting live.
		live := newTestStore(t, d)
		for _, bag := range bags {
			mustCreate(t, live, bag, aggregator.CreateOptions{})
		}
		a, _, err := s.TestStates(ctx, aggregator.StateFilter{Package: "eq"})
		if err != nil {
			t.Fatal(err)
		}
		b, _, err := live.TestStates(ctx, aggregator.StateFilter{Package: "eq"})
		if err != nil {
			t.Fatal(err)
		}
		compareStates(t, "backfilled against live", a, b)
		// New results fold on top of the backfilled states.
		next := newBag(aggregator.NewEnv(bags[0].ClientInfo), "main", bags[1].Steps...)
		next.Receipt.Time = bags[len(bags)-1].Receipt.Time.Add(time.Hour)
		mustCreate(t, s, next, aggregator.CreateOptions{})
		changes[next.Receipt.ResultKey] = m.add(next)
		checkAgainstModel(t, s, m, "eq", changes)
	})
}

// FuzzUnpackState: a stored state, however damaged, never panics the
// decoder, and what packState writes reads back the same.
func FuzzUnpackState(f *testing.F) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	for _, st := range []aggregator.TestState{
		{},
		{EnvKey: "abc", Branch: "main", Status: pony.StatusFail, ResultKey: "r1", Received: t0, Commit: "c1", ScoredCommit: "c1",
			Attempts: 2, Verdicts: 7, History: 1<<63 | 5, HistoryLen: 64, RetryFlakes: 4, CommitPass: true, CommitFail: true,
			Disagreements: 1, FlakeCount: 3, FirstFlake: t0.Add(-time.Hour), LastFlake: t0, CleanRun: 0, InfraExcluded: 2, Infra: true},
		{EnvKey: "e", Status: pony.StatusXFail, ResultKey: "r2", Received: t0, Commit: "c2"},
		{EnvKey: "f", Status: pony.StatusPass, ResultKey: "r3", Received: t0, History: 0b0101, HistoryLen: 4,
			FlipTimes: []time.Time{t0, t0.Add(-time.Hour), t0.Add(-2 * time.Hour)}},
	} {
		f.Add(packState(&st, 42))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var st aggregator.TestState
		id, err := unpackState(b, &st, interner{})
		if err != nil {
			return
		}
		// What decodes re-encodes to a state that decodes the same.
		var again aggregator.TestState
		id2, err := unpackState(packState(&st, id), &again, interner{})
		if err != nil || id2 != id || !reflect.DeepEqual(st, again) {
			t.Errorf("round trip: got %d %+v, %v; want %d %+v", id2, again, err, id, st)
		}
	})
}
