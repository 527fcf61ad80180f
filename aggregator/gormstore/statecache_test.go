package gormstore

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/pony-build/pony/aggregator"
)

// TestStateCacheAcrossReplicas: a replica's cached reading of the states
// is never served once another replica has ingested a result of the
// package (late results too), and a caller changing its slice does not
// change the cache. Replica a reads (and caches) after every ingest, which
// alternates between a and b; c reads without a cache.
func TestStateCacheAcrossReplicas(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		dsn := newTestDSN(t, d)
		a := openTestStore(t, dsn, Options{Migrate: true})
		b := openTestStore(t, dsn, Options{Migrate: true})
		c := openTestStore(t, dsn, Options{Migrate: true, StateCache: -1})
		if c.states != nil {
			t.Fatalf("StateCache -1: got a cache, want none")
		}
		ctx := context.Background()
		read := func(s *Store, f aggregator.StateFilter) []aggregator.TestState {
			t.Helper()
			st, _, err := s.TestStates(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		for i, bag := range scenario() {
			if bag.ClientInfo.Package != "eq" {
				t.Fatalf("scenario bag %d: package %q, want eq", i, bag.ClientInfo.Package)
			}
			mustCreate(t, []*Store{a, b}[i%2], bag, aggregator.CreateOptions{})
			for _, f := range []aggregator.StateFilter{{Package: "eq"}, {Package: "eq", Branch: "main"}} {
				want := read(c, f)
				got := read(a, f)
				compareStates(t, fmt.Sprintf("after result %d, branch %q, first read", i, f.Branch), got, want)
				for j := range got { // the caller's to change
					got[j].Verdicts = -1
				}
				compareStates(t, fmt.Sprintf("after result %d, branch %q, second read", i, f.Branch), read(a, f), want)
			}
		}
	})
}

// TestStateCacheEvicts: the cache keeps at most its size of readings, the
// least recently used going first.
func TestStateCacheEvicts(t *testing.T) {
	c := newStateCache(2)
	st := []aggregator.TestState{{Name: "x"}}
	c.put(stateCacheKey{"p", "1"}, "v", nil, st)
	c.put(stateCacheKey{"p", "2"}, "v", nil, st)
	if _, ok := c.get(stateCacheKey{"p", "1"}, "v"); !ok {
		t.Fatalf("get p/1: got nothing, want the reading")
	}
	c.put(stateCacheKey{"p", "3"}, "v", nil, st)
	for _, tc := range []struct {
		branch, version string
		want            bool
	}{{"1", "v", true}, {"2", "v", false}, {"3", "v", true}, {"3", "w", false}} {
		if _, ok := c.get(stateCacheKey{"p", tc.branch}, tc.version); ok != tc.want {
			t.Errorf("get p/%s at %s: got %v, want %v", tc.branch, tc.version, ok, tc.want)
		}
	}
}

// TestFlakyCountAcrossReplicas: a package's flaky count is the length of
// its flaky ranking over every branch after every result (late ones and
// results of another package too), whichever replica stored it, from a
// replica that keeps counts (a), another that stores half the results (b)
// and one without a cache (c); and options other than those a count was
// kept with are not served it.
func TestFlakyCountAcrossReplicas(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		dsn := newTestDSN(t, d)
		a := openTestStore(t, dsn, Options{Migrate: true})
		b := openTestStore(t, dsn, Options{Migrate: true})
		c := openTestStore(t, dsn, Options{Migrate: true, StateCache: -1})
		ctx := context.Background()
		flaky := func(s *Store, opts aggregator.FlakyOptions) map[string]int {
			t.Helper()
			pkgs, err := s.Packages(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]int{}
			for _, p := range pkgs {
				out[p.Name] = p.Flaky
			}
			return out
		}
		ranked := func(pkg string, opts aggregator.FlakyOptions) int {
			t.Helper()
			states, envs, err := c.TestStates(ctx, aggregator.StateFilter{Package: pkg})
			if err != nil {
				t.Fatal(err)
			}
			return len(aggregator.RankFlaky(states, envs, opts))
		}
		other := aggregator.Env{Package: "other", Host: "h", Arch: "amd64"}
		seen := map[int]bool{}
		for i, bag := range scenario() {
			mustCreate(t, []*Store{a, b}[i%2], bag, aggregator.CreateOptions{})
			if i%5 == 4 { // another package's results change nothing of eq's
				mustCreate(t, b, newBag(other, "main", flakeStep("s", []string{"T1"}, []string{"T2"})), aggregator.CreateOptions{})
			}
			want := map[string]int{"eq": ranked("eq", aggregator.FlakyOptions{})}
			if i >= 4 {
				want["other"] = ranked("other", aggregator.FlakyOptions{})
			}
			for _, s := range []*Store{a, a, b, c} { // a twice: its kept counts
				if got := flaky(s, aggregator.FlakyOptions{}); !maps.Equal(got, want) {
					t.Fatalf("after result %d: got flaky counts %v, want %v", i, got, want)
				}
			}
			seen[want["eq"]] = true
			strict := aggregator.FlakyOptions{FlipThreshold: 0.9}
			if got, want := flaky(a, strict)["eq"], ranked("eq", strict); got != want {
				t.Fatalf("after result %d, flip threshold 0.9: got %d flaky, want %d", i, got, want)
			}
		}
		if len(seen) < 3 {
			t.Errorf("got flaky counts %v over the scenario, want at least 3 different ones", seen)
		}
	})
}

// TestStateCacheReadsChangedEnvironments: after a result, TestStates reads
// again the states of that result's environment only (another replica's
// result, a late one, a new environment too), and what it returns equals
// an uncached store's reading, on every branch and on one.
func TestStateCacheReadsChangedEnvironments(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		dsn := newTestDSN(t, d)
		a := openTestStore(t, dsn, Options{Migrate: true})
		b := openTestStore(t, dsn, Options{Migrate: true})
		c := openTestStore(t, dsn, Options{Migrate: true, StateCache: -1})
		ctx := context.Background()
		const tests = 40
		env := func(host string) aggregator.Env {
			return aggregator.Env{Package: "inc", Host: host, Arch: "amd64", Runtime: "go1.22"}
		}
		h1, h2, h3, h4 := env("h1"), env("h2"), env("h3"), env("h4")
		for _, e := range []aggregator.Env{h1, h2, h3} {
			mustCreate(t, a, newBag(e, "main", bigStep(tests)), aggregator.CreateOptions{})
		}
		// readAll reads on both filters through a, checks them against c,
		// and returns how many states a read from the database.
		readAll := func(what string) int64 {
			t.Helper()
			before := a.statesRead.Load()
			for _, f := range []aggregator.StateFilter{{Package: "inc"}, {Package: "inc", Branch: "main"}} {
				got, _, err := a.TestStates(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				want, _, err := c.TestStates(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				compareStates(t, fmt.Sprintf("%s, branch %q", what, f.Branch), got, want)
			}
			return a.statesRead.Load() - before
		}
		if n := readAll("first reading"); n != 2*3*tests {
			t.Errorf("first reading: %d states read, want all %d of both filters", n, 2*3*tests)
		}
		if n := readAll("nothing new"); n != 0 {
			t.Errorf("nothing new: %d states read, want none", n)
		}
		// A result of h2 through the other replica, on a second branch:
		// over every branch h2's states again; on main, h2's main states
		// (h2's version changed whatever the branch).
		mustCreate(t, b, newBag(h2, "dev", bigStep(tests)), aggregator.CreateOptions{})
		if n := readAll("after h2 on dev"); n != 2*tests+tests {
			t.Errorf("after a result of h2: %d states read, want h2's %d (every branch) + %d (main)", n, 2*tests, tests)
		}
		// A late result of h3 (received before the others).
		late := newBag(h3, "main", bigStep(tests))
		late.Receipt.Time = late.Receipt.Time.Add(-time.Hour)
		mustCreate(t, a, late, aggregator.CreateOptions{})
		if n := readAll("after a late h3"); n != 2*tests {
			t.Errorf("after a late result of h3: %d states read, want h3's %d on each filter", n, 2*tests)
		}
		// A new environment.
		mustCreate(t, b, newBag(h4, "main", bigStep(tests)), aggregator.CreateOptions{})
		if n := readAll("after a new h4"); n != 2*tests {
			t.Errorf("after a new environment: %d states read, want h4's %d on each filter", n, 2*tests)
		}
	})
}
