package gormstore

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// countQueries counts the statements the store's reading connection runs
// from now on (on PostgreSQL the writing one too: they are one).
func countQueries(t *testing.T, s *Store) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	inc := func(*gorm.DB) { n.Add(1) }
	name := fmt.Sprintf("batch_test:count:%p", &n)
	if err := s.r.Callback().Query().Before("gorm:query").Register(name, inc); err != nil {
		t.Fatal(err)
	}
	if err := s.r.Callback().Row().Before("gorm:row").Register(name, inc); err != nil {
		t.Fatal(err)
	}
	return &n
}

// seedBatch stores, for each of n packages pkgNN, three results of one
// environment (pass, then fail, then pass: the second has a newly failing
// test) and an expected environment for the even ones; it returns the
// result keys, oldest first.
func seedBatch(t *testing.T, s *Store, from, n int) []string {
	t.Helper()
	ctx := context.Background()
	var keys []string
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for p := from; p < from+n; p++ {
		pkg := fmt.Sprintf("pkg%02d", p)
		env := aggregator.Env{Package: pkg, Host: "h", Arch: "amd64", Runtime: "go1.23", Tags: []string{}}
		for i, st := range []pony.Status{pony.StatusPass, pony.StatusFail, pony.StatusPass} {
			bag := newBag(env, "main", pony.Step{Type: "test", Name: "t", Status: map[bool]int{true: 1}[st == pony.StatusFail], Tests: []pony.TestResult{
				{Suite: "s", Name: "A", Status: pony.StatusPass},
				{Suite: "s", Name: "<B>", Status: st},
			}})
			bag.Receipt.Time = base.Add(time.Duration(p*10+i) * time.Minute)
			keys = append(keys, mustCreate(t, s, bag, aggregator.CreateOptions{}).ResultKey)
		}
		if p%2 == 0 {
			if err := s.SetExpected(ctx, pkg, []aggregator.ExpectedEnv{
				{Name: "main", Match: env, Interval: time.Hour},
				{Match: aggregator.Env{Package: pkg, Arch: "arm64", Tags: []string{}}, Interval: 2 * time.Hour},
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return keys
}

// TestBatchReads checks ExpectedAll, ChangesFor and RecentResults against
// the one-at-a-time reads, and that each is a fixed number of queries
// whatever the number of packages (ChangesFor: one per keysPerQuery keys).
func TestBatchReads(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		s := newTestStore(t, d)
		ctx := context.Background()
		if got, err := s.ExpectedAll(ctx); err != nil || len(got) != 0 {
			t.Fatalf("ExpectedAll of an empty store: got %v, %v; want none", got, err)
		}
		if got, err := s.RecentResults(ctx, 10, false); err != nil || len(got) != 0 {
			t.Fatalf("RecentResults of an empty store: got %v, %v; want none", got, err)
		}
		var keys []string
		for _, tc := range []struct{ from, n int }{{0, 2}, {2, 10}} {
			keys = append(keys, seedBatch(t, s, tc.from, tc.n)...)
			pkgs := tc.from + tc.n
			n := countQueries(t, s)

			n.Store(0)
			all, err := s.ExpectedAll(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := n.Load(); got != 1 {
				t.Errorf("%d packages: ExpectedAll: got %d queries, want 1", pkgs, got)
			}
			if got, want := len(all), (pkgs+1)/2; got != want {
				t.Errorf("ExpectedAll: got %d packages, want %d", got, want)
			}
			for p := 0; p < pkgs; p++ {
				pkg := fmt.Sprintf("pkg%02d", p)
				want, err := s.Expected(ctx, pkg)
				if err != nil {
					t.Fatal(err)
				}
				if len(want) == 0 {
					want = nil
				}
				if got := all[pkg]; !reflect.DeepEqual(got, want) {
					t.Errorf("ExpectedAll[%s]: got %+v, want %+v", pkg, got, want)
				}
			}

			ask := append([]string{"no-such-result"}, keys...)
			n.Store(0)
			ch, err := s.ChangesFor(ctx, ask)
			if err != nil {
				t.Fatal(err)
			}
			if got := n.Load(); got != 1 {
				t.Errorf("%d keys: ChangesFor: got %d queries, want 1", len(ask), got)
			}
			if len(ch) != len(keys) {
				t.Errorf("ChangesFor: got %d results, want %d", len(ch), len(keys))
			}
			for i, k := range keys {
				want, err := s.Changes(ctx, k)
				if err != nil {
					t.Fatal(err)
				}
				if got := ch[k]; !reflect.DeepEqual(got, want) {
					t.Errorf("ChangesFor[%s]: got %+v, want %+v", k, got, want)
				}
				if i%3 == 1 && len(ch[k].NewlyFailing) != 1 {
					t.Errorf("ChangesFor[%s]: got newly failing %v, want <B>", k, ch[k].NewlyFailing)
				}
			}

			n.Store(0)
			recent, err := s.RecentResults(ctx, 5, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := n.Load(); got != 1 {
				t.Errorf("RecentResults: got %d queries, want 1", got)
			}
			var gotKeys []string
			for _, r := range recent {
				gotKeys = append(gotKeys, r.Key)
			}
			var wantKeys []string
			for i := len(keys) - 1; i >= len(keys)-5; i-- {
				wantKeys = append(wantKeys, keys[i])
			}
			if !reflect.DeepEqual(gotKeys, wantKeys) {
				t.Errorf("RecentResults(5): got %v, want %v", gotKeys, wantKeys)
			}
			if page, err := s.Results(ctx, aggregator.ResultFilter{Package: recent[0].Env.Package, Limit: 1}); err != nil || !reflect.DeepEqual(page.Results[0], recent[0]) {
				t.Errorf("RecentResults[0]: got %+v, want the package's newest %+v (%v)", recent[0], page.Results, err)
			}
			n.Store(0)
			failing, err := s.RecentResults(ctx, 100, true)
			if err != nil {
				t.Fatal(err)
			}
			if got := n.Load(); got != 1 {
				t.Errorf("RecentResults failures only: got %d queries, want 1", got)
			}
			if len(failing) != pkgs {
				t.Errorf("RecentResults failures only: got %d, want %d (one per package)", len(failing), pkgs)
			}
			for i, r := range failing {
				if r.Totals.Fail != 1 || r.Key != keys[len(keys)-2-3*i] {
					t.Errorf("failing result %d: got %s with %d failures, want %s with 1", i, r.Key, r.Totals.Fail, keys[len(keys)-2-3*i])
				}
			}
		}

		// Over the bind limit of one query: 1,201 keys, 3 queries.
		many := append([]string(nil), keys...)
		for len(many) < 2*keysPerQuery+1 {
			many = append(many, fmt.Sprintf("missing-%04d", len(many)))
		}
		n := countQueries(t, s)
		ch, err := s.ChangesFor(ctx, many)
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Load(); got != 3 {
			t.Errorf("%d keys: ChangesFor: got %d queries, want 3", len(many), got)
		}
		if len(ch) != len(keys) {
			t.Errorf("ChangesFor of %d keys: got %d results, want %d", len(many), len(ch), len(keys))
		}
	})
}
