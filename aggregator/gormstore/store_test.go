package gormstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/reporters"
)

// realBag parses every report under reporters/testdata/FORMAT (the real
// runner outputs the reporters are tested on) into one bag, a step per
// file, with client_info and step keys pony does not know, written with odd
// spacing so that only a byte-exact store keeps them.
func realBag(t *testing.T, format string) *pony.Bag {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", "reporters", "testdata", format, "*"))
	ci := `{"package": "real-` + format + `", "host": "ci-linux-3", "arch": "linux-amd64", "tags": ["nightly", "go1.26", "nightly"],
		"runtime": "go1.26.8", "commit": "9f1c2e", "branch": "main", "build_url": "https://ci.example/123", "duration": 12.5,
		"python_version":   "3.12.1", "matrix": {"os" : "ubuntu-24.04",  "shards": [1, 2 , 3]}, "ratio": 1.50e3,
		"unicode": "h\u00e9llo \ud83d\udc34", "empty": null}`
	bag := &pony.Bag{Receipt: &pony.Receipt{ResultKey: aggregator.NewResultKey(), Time: time.Now().UTC(), ClientIP: "2001:db8::7"}}
	if err := json.Unmarshal([]byte(ci), &bag.ClientInfo); err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		if strings.HasSuffix(f, ".golden.json") || strings.HasSuffix(f, ".md") || strings.HasSuffix(f, ".sh") {
			continue
		}
		if fi, err := os.Stat(f); err != nil || fi.IsDir() {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		st, err := reporters.Parse(context.Background(), format, bytes.NewReader(data), reporters.Options{File: filepath.Base(f)})
		if st == nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		st.Extra = map[string]json.RawMessage{
			"shard":  json.RawMessage(fmt.Sprintf(`{ "index" : %d,  "of": 4 }`, i)),
			"labels": json.RawMessage(`[ "a",  "b" ]`),
		}
		bag.Steps = append(bag.Steps, *st)
	}
	if len(bag.Steps) < 5 {
		t.Fatalf("%s: got %d real reports, want at least 5", format, len(bag.Steps))
	}
	return bag
}

// checkSameBag compares a stored bag with what was stored: the whole JSON,
// client_info byte for byte as its marshaller writes it, and every raw
// extra value of every step byte for byte.
func checkSameBag(t *testing.T, got, want *pony.Bag) {
	t.Helper()
	wantRec := *want.Receipt
	wantRec.Time = wantRec.Time.Truncate(time.Millisecond)
	w := *want
	w.Receipt = &wantRec
	gj, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	wj, err := json.Marshal(&w)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gj, wj) {
		i := 0
		for i < len(gj) && i < len(wj) && gj[i] == wj[i] {
			i++
		}
		t.Fatalf("stored bag differs at byte %d:\ngot  …%s\nwant …%s", i, snippet(gj, i), snippet(wj, i))
	}
	gci, _ := got.ClientInfo.MarshalJSON()
	wci, _ := want.ClientInfo.MarshalJSON()
	if !bytes.Equal(gci, wci) {
		t.Errorf("client_info: got %s, want %s", gci, wci)
	}
	for i := range want.Steps {
		for k, v := range want.Steps[i].Extra {
			if g := got.Steps[i].Extra[k]; !bytes.Equal(g, v) {
				t.Errorf("step %d extra %q: got %s, want %s", i, k, g, v)
			}
		}
	}
}

func snippet(b []byte, i int) string {
	return string(b[max(0, i-60):min(len(b), i+60)])
}

func TestRoundTripRealReports(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		s := newTestStore(t, d)
		ctx := context.Background()
		for _, format := range []string{"gotest", "junit", "tap"} {
			t.Run(format, func(t *testing.T) {
				bag := realBag(t, format)
				attempts, props := 0, 0
				for _, st := range bag.Steps {
					for _, tr := range st.Tests {
						if tr.Attempt > 1 {
							attempts++
						}
						if len(tr.Properties) > 0 {
							props++
						}
					}
				}
				t.Logf("%s: %d steps, %d tests, %d reruns, %d with properties", format, len(bag.Steps), bag.Totals().Attempts, attempts, props)
				rec, existed, err := s.CreateResult(ctx, bag, aggregator.CreateOptions{AuthKeyHash: "abc"})
				if err != nil || existed {
					t.Fatalf("CreateResult: got existed %v, err %v; want a new result", existed, err)
				}
				if rec.ResultKey != bag.Receipt.ResultKey || !rec.Time.Equal(bag.Receipt.Time.Truncate(time.Millisecond)) {
					t.Errorf("receipt: got %+v, want %+v (time to the millisecond)", rec, *bag.Receipt)
				}
				got, err := s.Result(ctx, rec.ResultKey)
				if err != nil {
					t.Fatal(err)
				}
				checkSameBag(t, got, bag)
			})
		}
		// The real files hold reruns (gotestsum --rerun-fails, Surefire) and
		// properties (Surefire, pytest): the corpus must exercise them.
		var reruns, props int64
		s.r.Table("verdicts").Where("attempt > 1").Count(&reruns)
		s.r.Table("verdicts").Where("properties IS NOT NULL").Count(&props)
		if reruns == 0 || props == 0 {
			t.Errorf("stored reruns %d, with properties %d: want both > 0", reruns, props)
		}
	})
}

func TestRoundTripOddText(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		s := newTestStore(t, d)
		env := aggregator.Env{Package: "odd", Host: "h", Arch: "a"}
		st := pony.Step{Type: "test", Name: "odd", Output: "nul\x00byte", Errout: nulMark + "looks encoded", Command: "x\x00y", Status: 1, Tests: []pony.TestResult{
			{Suite: "s\x00uite", Name: "nul\x00name", Status: pony.StatusFail, Message: "a\x00b", Output: "\x00", File: "f\x00.go", Line: 3},
			{Suite: "s", Name: nulMark + "x", Status: pony.StatusPass, Attempt: 0, Properties: map[string]string{}},
			{Suite: "", Name: "no suite", Status: pony.StatusXFail, Properties: map[string]string{"k": "v\x00"}},
		}}
		bag := newBag(env, "", st)
		bag.ClientInfo.BuildURL = "https://x/\x00"
		rec := mustCreate(t, s, bag, aggregator.CreateOptions{})
		got, err := s.Result(context.Background(), rec.ResultKey)
		if err != nil {
			t.Fatal(err)
		}
		checkSameBag(t, got, bag)
		h, err := s.TestHistory(context.Background(), aggregator.TestHistoryFilter{Package: "odd", Suite: "s\x00uite", Name: "nul\x00name"})
		if err != nil || len(h.Verdicts) != 1 || h.Verdicts[0].Message != "a\x00b" {
			t.Errorf("history of a NUL-named test: got %+v, %v; want one verdict with message a\\x00b", h.Verdicts, err)
		}
	})
}

func TestBigBag(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		s := newTestStore(t, d)
		env := aggregator.Env{Package: "big", Host: "h", Arch: "a", Tags: []string{"x"}}
		bag := newBag(env, "main", bigStep(50_000), pony.Step{Type: "build", Name: "make", Status: 0})
		rec := mustCreate(t, s, bag, aggregator.CreateOptions{})
		got, err := s.Result(context.Background(), rec.ResultKey)
		if err != nil {
			t.Fatal(err)
		}
		checkSameBag(t, got, bag)
		if n := count(t, s, "tests"); n != 50_000 {
			t.Errorf("test identities: got %d, want 50000", n)
		}
		// A second bag of the same tests reuses the identities.
		mustCreate(t, s, newBag(env, "main", bigStep(50_000)), aggregator.CreateOptions{})
		if n := count(t, s, "tests"); n != 50_000 {
			t.Errorf("test identities after a second bag: got %d, want 50000", n)
		}
		if n, want := count(t, s, "verdicts"), int64(2*len(bag.Steps[0].Tests)); n != want {
			t.Errorf("verdicts: got %d, want %d", n, want)
		}
	})
}

func TestIdempotency(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		s := newTestStore(t, d)
		ctx := context.Background()
		env := aggregator.Env{Package: "idem", Host: "h", Arch: "a"}
		st := bigStep(300)

		first := newBag(env, "", st)
		rec1, existed, err := s.CreateResult(ctx, first, aggregator.CreateOptions{IdempotencyKey: "send-1"})
		if err != nil || existed {
			t.Fatalf("first send: got existed %v, err %v", existed, err)
		}
		again := newBag(env, "", st) // a retry: the Service gives it a new receipt
		rec2, existed, err := s.CreateResult(ctx, again, aggregator.CreateOptions{IdempotencyKey: "send-1"})
		if err != nil || !existed || rec2 != rec1 {
			t.Fatalf("second send: got %+v existed %v err %v, want %+v existed true", rec2, existed, err, rec1)
		}
		if n := count(t, s, "results"); n != 1 {
			t.Errorf("results after a retried send: got %d, want 1", n)
		}

		// Eight senders at once with one key: one result, one winner, and
		// every sender gets the winner's receipt.
		const senders = 8
		var wg sync.WaitGroup
		recs := make([]pony.Receipt, senders)
		existeds := make([]bool, senders)
		errs := make([]error, senders)
		start := make(chan struct{})
		for i := 0; i < senders; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				recs[i], existeds[i], errs[i] = s.CreateResult(ctx, newBag(env, "", st), aggregator.CreateOptions{IdempotencyKey: "race"})
			}()
		}
		close(start)
		wg.Wait()
		winners := 0
		for i := range recs {
			if errs[i] != nil {
				t.Fatalf("sender %d: %v", i, errs[i])
			}
			if !existeds[i] {
				winners++
			}
			if recs[i] != recs[0] {
				t.Errorf("sender %d: got receipt %+v, want %+v", i, recs[i], recs[0])
			}
		}
		if winners != 1 {
			t.Errorf("senders that stored: got %d, want 1", winners)
		}
		var n int64
		s.r.Table("results").Where("idempotency_key = ?", "race").Count(&n)
		if n != 1 {
			t.Errorf("results with the raced key: got %d, want 1", n)
		}
		if got, want := count(t, s, "verdicts"), int64(2*len(st.Tests)); got != want {
			t.Errorf("verdicts: got %d, want %d (two results)", got, want)
		}
	})
}

func TestConcurrentSenders(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		s := newTestStore(t, d)
		const senders, each = 8, 6
		var wg sync.WaitGroup
		errs := make(chan error, senders*each)
		for i := 0; i < senders; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				env := aggregator.Env{Package: "conc", Host: fmt.Sprintf("h%d", i), Arch: "a"}
				for j := 0; j < each; j++ {
					_, _, err := s.CreateResult(context.Background(), newBag(env, "", bigStep(500)), aggregator.CreateOptions{IdempotencyKey: fmt.Sprintf("%d-%d", i, j)})
					errs <- err
					// Reads run beside the writes.
					if _, err := s.Tagsets(context.Background(), "conc"); err != nil {
						errs <- err
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Errorf("concurrent send: %v", err)
			}
		}
		if n := count(t, s, "results"); n != senders*each {
			t.Errorf("results: got %d, want %d", n, senders*each)
		}
	})
}

func TestAllOrNothing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		s := newTestStore(t, d)
		env := aggregator.Env{Package: "aon", Host: "h", Arch: "a", Tags: []string{"t"}}

		// The context is cancelled when the verdicts' first INSERT starts:
		// the result, its tags, steps and test identities are written by then.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		const cb = "test:cancel_at_verdicts"
		if err := s.w.Callback().Create().Before("gorm:create").Register(cb, func(db *gorm.DB) {
			if db.Statement.Table == "verdicts" {
				cancel()
			}
		}); err != nil {
			t.Fatal(err)
		}
		_, _, err := s.CreateResult(ctx, newBag(env, "", bigStep(20_000)), aggregator.CreateOptions{IdempotencyKey: "k"})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled mid-way: got %v, want context.Canceled", err)
		}
		if err := s.w.Callback().Create().Remove(cb); err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"results", "result_tags", "steps", "tests", "verdicts"} {
			if n := count(t, s, table); n != 0 {
				t.Errorf("%s after a cancelled CreateResult: got %d rows, want 0", table, n)
			}
		}

		// A step whose extra value is not JSON fails after the result row
		// and its tags are written.
		bad := newBag(env, "", bigStep(10), pony.Step{Type: "x", Name: "bad", Extra: map[string]json.RawMessage{"k": json.RawMessage("{not json")}})
		if _, _, err := s.CreateResult(context.Background(), bad, aggregator.CreateOptions{IdempotencyKey: "k"}); err == nil {
			t.Errorf("bad extra: got no error, want one")
		}
		for _, table := range []string{"results", "result_tags", "steps", "tests", "verdicts"} {
			if n := count(t, s, table); n != 0 {
				t.Errorf("%s after a failed CreateResult: got %d rows, want 0", table, n)
			}
		}
		// The key was not used up: the same send now succeeds.
		if _, existed, err := s.CreateResult(context.Background(), newBag(env, "", bigStep(10)), aggregator.CreateOptions{IdempotencyKey: "k"}); err != nil || existed {
			t.Errorf("send after the failures: got existed %v, err %v; want a new result", existed, err)
		}
	})
}

func TestResultsPagination(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		s := newTestStore(t, d)
		ctx := context.Background()
		type stored struct {
			key                string
			host, arch, branch string
			runtime            string
			tags               []string
		}
		var all []stored // in creation order
		for i := 0; i < 120; i++ {
			env := aggregator.Env{Package: "pag", Host: fmt.Sprintf("h%d", i%3), Arch: fmt.Sprintf("a%d", i%2), Runtime: fmt.Sprintf("go1.%d", 20+i%4)}
			env.Tags = []string{fmt.Sprintf("t%d", i%5)}
			if i%2 == 0 {
				env.Tags = append(env.Tags, "nightly")
			}
			branch := "main"
			if i%4 == 0 {
				branch = "dev"
			}
			st := pony.Step{Type: "test", Name: "t", Tests: []pony.TestResult{{Name: "TestA", Status: pony.StatusPass}}}
			rec := mustCreate(t, s, newBag(env, branch, st), aggregator.CreateOptions{})
			all = append(all, stored{rec.ResultKey, env.Host, env.Arch, branch, env.Runtime, env.Tags})
		}
		mustCreate(t, s, newBag(aggregator.Env{Package: "other", Host: "h0"}, "main"), aggregator.CreateOptions{})

		tests := []struct {
			name string
			f    aggregator.ResultFilter
		}{
			{"all", aggregator.ResultFilter{}},
			{"host", aggregator.ResultFilter{Host: "h1"}},
			{"arch and branch", aggregator.ResultFilter{Arch: "a0", Branch: "dev"}},
			{"runtime", aggregator.ResultFilter{Runtime: "go1.21"}},
			{"two tags", aggregator.ResultFilter{Tags: []string{"nightly", "t2"}}},
			{"tag and host", aggregator.ResultFilter{Tags: []string{"t3"}, Host: "h0"}},
			{"unknown tag", aggregator.ResultFilter{Tags: []string{"t1", "nope"}}},
			{"no match", aggregator.ResultFilter{Host: "h9"}},
		}
		for _, tc := range tests {
			for _, limit := range []int{7, 50, 500} {
				t.Run(fmt.Sprintf("%s/limit%d", tc.name, limit), func(t *testing.T) {
					var want []string
					for i := len(all) - 1; i >= 0; i-- {
						r, f := all[i], tc.f
						if (f.Host != "" && f.Host != r.host) || (f.Arch != "" && f.Arch != r.arch) || (f.Branch != "" && f.Branch != r.branch) || (f.Runtime != "" && f.Runtime != r.runtime) {
							continue
						}
						ok := true
						for _, tag := range f.Tags {
							ok = ok && slices.Contains(r.tags, tag)
						}
						if ok {
							want = append(want, r.key)
						}
					}
					f := tc.f
					f.Package, f.Limit = "pag", limit
					var got []string
					pages := 0
					for {
						page, err := s.Results(ctx, f)
						if err != nil {
							t.Fatal(err)
						}
						pages++
						if len(page.Results) > limit {
							t.Fatalf("page of %d, over the limit %d", len(page.Results), limit)
						}
						for _, r := range page.Results {
							got = append(got, r.Key)
							if r.Env.Package != "pag" || (f.Host != "" && r.Env.Host != f.Host) {
								t.Errorf("result %s: env %+v does not match the filter", r.Key, r.Env)
							}
						}
						if page.Next == "" {
							break
						}
						f.Before = page.Next
						if pages > 200 {
							t.Fatal("pagination does not end")
						}
					}
					if !slices.Equal(got, want) {
						t.Errorf("got %d keys %v,\nwant %d keys %v", len(got), got, len(want), want)
					}
					if wantPages := max(1, (len(want)+limit-1)/limit); pages != wantPages && !(len(want)%limit == 0 && pages == wantPages) {
						t.Errorf("pages: got %d, want %d", pages, wantPages)
					}
				})
			}
		}
		if _, err := s.Results(ctx, aggregator.ResultFilter{Package: "pag", Before: "!!"}); aggregator.ErrorCode(err) != aggregator.EInvalid {
			t.Errorf("bad cursor: got %v, want an invalid error", err)
		}
		page, err := s.Results(ctx, aggregator.ResultFilter{Package: "pag", Limit: 1})
		if err != nil || len(page.Results) != 1 {
			t.Fatal(page, err)
		}
		r := page.Results[0]
		last := all[len(all)-1]
		if r.Key != last.key || r.Env.Runtime != last.runtime || r.Branch != "main" || r.Totals.Tests != 1 || r.Totals.Pass != 1 || !r.Success || r.ClientIP != "127.0.0.1" {
			t.Errorf("summary: got %+v, want key %s runtime %s, one passing test", r, last.key, last.runtime)
		}
	})
}

// flakeStep is a step where each name in flaky fails then passes on a
// rerun, and each name in pass passes at once.
func flakeStep(name string, flaky, pass []string) pony.Step {
	st := pony.Step{Type: "test", Name: name}
	for _, n := range flaky {
		st.Tests = append(st.Tests,
			pony.TestResult{Suite: "s", Name: n, Status: pony.StatusFail, Attempt: 1, Message: "boom"},
			pony.TestResult{Suite: "s", Name: n, Status: pony.StatusPass, Attempt: 2, Duration: 0.5})
	}
	for _, n := range pass {
		st.Tests = append(st.Tests, pony.TestResult{Suite: "s", Name: n, Status: pony.StatusPass, Attempt: 1, Duration: 0.25})
	}
	return st
}

func TestPackagesTagsetsAndHistory(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		s := newTestStore(t, d)
		ctx := context.Background()
		envA := aggregator.Env{Package: "alpha", Host: "h1", Arch: "amd64", Runtime: "py3.12"}
		envB := aggregator.Env{Package: "alpha", Host: "h2", Arch: "arm64", Tags: []string{"x", "nightly"}}
		envC := aggregator.Env{Package: "beta", Host: "h1", Arch: "amd64"}
		create := func(env aggregator.Env, branch string, steps ...pony.Step) pony.Receipt {
			return mustCreate(t, s, newBag(env, branch, steps...), aggregator.CreateOptions{})
		}
		a1 := create(envA, "main", flakeStep("s", []string{"T3"}, []string{"T1", "T2"}))
		b1 := create(envB, "main", flakeStep("s", nil, []string{"T1"}))
		a2 := create(envA, "dev", flakeStep("s", nil, []string{"T1", "T2", "T3"}))
		c1 := create(envC, "main", flakeStep("s", []string{"T1"}, nil)) // another package's T1
		// The latest of A: T1 and T2 are retry flakes, T1 ran in two steps.
		a3 := create(envA, "main", flakeStep("unit", []string{"T1", "T2"}, []string{"T3"}), flakeStep("again", nil, []string{"T1"}))
		// The latest of B: T1 flaky; the same test as A's, so alpha has 2.
		b2 := create(envB, "main", flakeStep("s", []string{"T1"}, nil))

		pkgs, err := s.Packages(ctx, aggregator.FlakyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		type pkgWant struct {
			name    string
			results int
			envs    []string // latest keys, newest first
			flaky   int
			retry   int
			last    pony.Receipt
		}
		// alpha: T1, T2 and T3 are flaky (T3 by a1's retry flake, on main,
		// whose a3 is A's newest over every branch); T1 and T2 only were
		// retry flakes in the latest results.
		want := []pkgWant{
			{"alpha", 5, []string{b2.ResultKey, a3.ResultKey}, 3, 2, b2},
			{"beta", 1, []string{c1.ResultKey}, 1, 1, c1},
		}
		if len(pkgs) != len(want) {
			t.Fatalf("packages: got %d (%+v), want %d", len(pkgs), pkgs, len(want))
		}
		for i, w := range want {
			p := pkgs[i]
			var keys []string
			for _, e := range p.Environments {
				keys = append(keys, e.Key)
			}
			if p.Name != w.name || p.Results != w.results || p.Flaky != w.flaky || p.RetryFlakes != w.retry || !slices.Equal(keys, w.envs) || !p.LastReceived.Equal(w.last.Time) {
				t.Errorf("package %d: got %s results %d flaky %d retry flakes %d envs %v last %v; want %s %d %d %d %v %v",
					i, p.Name, p.Results, p.Flaky, p.RetryFlakes, keys, p.LastReceived, w.name, w.results, w.flaky, w.retry, w.envs, w.last.Time)
			}
			states, envs, err := s.TestStates(ctx, aggregator.StateFilter{Package: p.Name})
			if err != nil {
				t.Fatal(err)
			}
			if ranked := aggregator.RankFlaky(states, envs, aggregator.FlakyOptions{}); len(ranked) != p.Flaky {
				t.Errorf("package %s: got %d flaky, want %d, as the flaky ranking", p.Name, p.Flaky, len(ranked))
			}
		}

		ts, err := s.Tagsets(ctx, "alpha")
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != 2 || ts[0].Latest.Key != b2.ResultKey || ts[0].Results != 2 || ts[1].Latest.Key != a3.ResultKey || ts[1].Results != 3 {
			t.Fatalf("tagsets: got %+v, want B (b2, 2 results) then A (a3, 3 results)", ts)
		}
		if ts[0].Env.Key() != envB.Key() || !slices.Equal(ts[0].Env.Tags, []string{"nightly", "x"}) || ts[1].Env.Key() != envA.Key() {
			t.Errorf("tagset envs: got %+v and %+v, want %+v and %+v", ts[0].Env, ts[1].Env, envB, envA)
		}
		if ts[1].Latest.Totals.Flaky != 2 || ts[1].Latest.Totals.Tests != 4 || ts[1].Latest.Totals.Attempts != 6 {
			t.Errorf("a3 totals: got %+v, want 4 tests, 6 attempts, 2 flaky", ts[1].Latest.Totals)
		}
		if none, err := s.Tagsets(ctx, "nope"); err != nil || len(none) != 0 {
			t.Errorf("tagsets of an unknown package: got %v, %v; want none", none, err)
		}

		// T1's history in alpha, newest first: a3 (two steps: "again" was
		// inserted after "unit"), b1, a2, a1, b2 first of all.
		type hv struct {
			key, step string
			status    pony.Status
			attempts  int
			flake     bool
		}
		wantT1 := []hv{
			{b2.ResultKey, "s", pony.StatusPass, 2, true},
			{a3.ResultKey, "again", pony.StatusPass, 1, false},
			{a3.ResultKey, "unit", pony.StatusPass, 2, true},
			{a2.ResultKey, "s", pony.StatusPass, 1, false},
			{b1.ResultKey, "s", pony.StatusPass, 1, false},
			{a1.ResultKey, "s", pony.StatusPass, 1, false},
		}
		history := func(f aggregator.TestHistoryFilter) []hv {
			t.Helper()
			var got []hv
			for pages := 0; ; pages++ {
				h, err := s.TestHistory(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range h.Verdicts {
					got = append(got, hv{v.ResultKey, v.Step, v.Status, v.Attempts, v.RetryFlake})
				}
				if h.Next == "" || pages > 50 {
					return got
				}
				f.Before = h.Next
			}
		}
		for _, limit := range []int{1, 2, 50} {
			if got := history(aggregator.TestHistoryFilter{Package: "alpha", Suite: "s", Name: "T1", Limit: limit}); !slices.Equal(got, wantT1) {
				t.Errorf("T1 history (limit %d):\ngot  %+v\nwant %+v", limit, got, wantT1)
			}
		}
		var wantH1 []hv
		for _, v := range wantT1 {
			if v.key != b1.ResultKey && v.key != b2.ResultKey {
				wantH1 = append(wantH1, v)
			}
		}
		if got := history(aggregator.TestHistoryFilter{Package: "alpha", Suite: "s", Name: "T1", Host: "h1", Limit: 2}); !slices.Equal(got, wantH1) {
			t.Errorf("T1 history on h1:\ngot  %+v\nwant %+v", got, wantH1)
		}
		if got := history(aggregator.TestHistoryFilter{Package: "alpha", Suite: "s", Name: "T1", Branch: "dev", Arch: "amd64"}); len(got) != 1 || got[0].key != a2.ResultKey {
			t.Errorf("T1 history on dev: got %+v, want a2 only", got)
		}
		if got := history(aggregator.TestHistoryFilter{Package: "beta", Suite: "s", Name: "T1"}); len(got) != 1 || got[0].key != c1.ResultKey || !got[0].flake {
			t.Errorf("beta T1 history: got %+v, want c1, a retry flake", got)
		}
		h, err := s.TestHistory(ctx, aggregator.TestHistoryFilter{Package: "alpha", Suite: "s", Name: "nope"})
		if err != nil || len(h.Verdicts) != 0 || h.Verdicts == nil {
			t.Errorf("unknown test: got %+v, %v; want an empty list", h, err)
		}
		h, _ = s.TestHistory(ctx, aggregator.TestHistoryFilter{Package: "alpha", Suite: "s", Name: "T3", Limit: 1})
		if len(h.Verdicts) != 1 || h.Verdicts[0].Env.Runtime != "py3.12" || h.Verdicts[0].Duration != 0.25 || h.Verdicts[0].Branch != "main" {
			t.Errorf("T3 latest verdict: got %+v, want a3's on py3.12, 0.25 s, main", h.Verdicts)
		}
		if _, err := s.TestHistory(ctx, aggregator.TestHistoryFilter{Package: "alpha", Name: "T1", Before: encodeCursor(1)}); aggregator.ErrorCode(err) != aggregator.EInvalid {
			t.Errorf("one-id cursor for history: got %v, want invalid", err)
		}
	})
}

func TestResultNotFound(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		s := newTestStore(t, d)
		_, err := s.Result(context.Background(), "nope")
		if !errors.Is(err, aggregator.ErrNotFound) {
			t.Errorf("got %v, want ErrNotFound", err)
		}
	})
}

func TestTokens(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		s := newTestStore(t, d)
		ctx := context.Background()
		if n, err := s.CountTokens(ctx); err != nil || n != 0 {
			t.Fatalf("count: got %d, %v; want 0", n, err)
		}
		created := time.Date(2026, 11, 22, 10, 0, 0, 123456789, time.FixedZone("x", 3600))
		tok := aggregator.Token{ID: "abcd1234", Hash: aggregator.HashToken("pony_secret"), Package: "gin", Scope: aggregator.ScopeWrite, Name: "ci", Created: created}
		if err := s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
		got, err := s.TokenByHash(ctx, tok.Hash)
		want := tok
		want.Created = created.UTC().Truncate(time.Millisecond)
		if err != nil || got != want {
			t.Errorf("TokenByHash: got %+v, %v; want %+v", got, err, want)
		}
		if _, err := s.TokenByHash(ctx, aggregator.HashToken("other")); !errors.Is(err, aggregator.ErrNotFound) {
			t.Errorf("unknown hash: got %v, want ErrNotFound", err)
		}
		dup := tok
		dup.Hash = aggregator.HashToken("another")
		if err := s.CreateToken(ctx, dup); aggregator.ErrorCode(err) != aggregator.EConflict {
			t.Errorf("duplicate id: got %v, want a conflict", err)
		}
		if err := s.CreateToken(ctx, aggregator.Token{ID: "r1", Hash: aggregator.HashToken("r"), Package: "*", Scope: aggregator.ScopeRead, Created: created}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.CountTokens(ctx); err != nil || n != 2 {
			t.Errorf("count: got %d, %v; want 2", n, err)
		}
	})
}

func TestReservationsAndBuildRequests(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		s := newTestStore(t, d)
		ctx := context.Background()
		env := aggregator.Env{Package: "p", Host: "h", Arch: "a", Tags: []string{"x", "y"}}
		other := aggregator.Env{Package: "p", Host: "h", Arch: "a", Tags: []string{"x"}}
		if _, ok, err := s.Reservation(ctx, env); ok || err != nil {
			t.Fatalf("no reservation yet: got ok %v, %v", ok, err)
		}
		until := time.Now().Add(time.Hour)
		if err := s.Reserve(ctx, aggregator.Reservation{Env: env, Until: until}); err != nil {
			t.Fatal(err)
		}
		later := until.Add(30 * time.Minute)
		if err := s.Reserve(ctx, aggregator.Reservation{Env: env, Until: later}); err != nil {
			t.Fatal(err)
		}
		r, ok, err := s.Reservation(ctx, env)
		if err != nil || !ok || !r.Until.Equal(later.Truncate(time.Millisecond)) || r.Env.Key() != env.Key() {
			t.Errorf("reservation: got %+v ok %v err %v; want until %v", r, ok, err, later)
		}
		if _, ok, _ := s.Reservation(ctx, other); ok {
			t.Errorf("another environment's reservation: got one, want none")
		}
		if n := count(t, s, "build_reservations"); n != 1 {
			t.Errorf("reservation rows: got %d, want 1", n)
		}

		for i := 0; i < 2; i++ {
			if err := s.RequestBuild(ctx, env); err != nil {
				t.Fatal(err)
			}
		}
		// Eight machines ask at once: exactly one is told.
		var wg sync.WaitGroup
		var mu sync.Mutex
		told := 0
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.TakeBuildRequest(ctx, env)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				defer mu.Unlock()
				if ok {
					told++
				}
			}()
		}
		wg.Wait()
		if told != 1 {
			t.Errorf("machines told of the request: got %d, want 1", told)
		}
		if ok, err := s.TakeBuildRequest(ctx, other); ok || err != nil {
			t.Errorf("another environment: got %v, %v; want no request", ok, err)
		}
	})
}

func TestMigrations(t *testing.T) {
	forEachDialect(t, func(t *testing.T, d string) {
		ctx := context.Background()
		dsn := newTestDSN(t, d)

		// An empty database is refused without Migrate.
		if _, err := Open(ctx, dsn, Options{}); err == nil || !strings.Contains(err.Error(), "not up to date") {
			t.Fatalf("open an empty database: got %v, want a not-up-to-date error", err)
		}
		// A stale one (the first migration only) too.
		s, err := open(ctx, dsn, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := s.migrateTo(ctx, "0001_tables"); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.SchemaUpToDate(ctx); ok || err != nil {
			t.Errorf("SchemaUpToDate after 0001: got %v, %v; want false", ok, err)
		}
		if _, err := Open(ctx, dsn, Options{}); err == nil || !strings.Contains(err.Error(), "0002_query_indexes") {
			t.Errorf("open a stale database: got %v, want an error naming the missing migration", err)
		}
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.SchemaUpToDate(ctx); !ok || err != nil {
			t.Errorf("SchemaUpToDate after Migrate: got %v, %v; want true", ok, err)
		}
		s2 := openTestStore(t, dsn, Options{})
		mustCreate(t, s2, newBag(aggregator.Env{Package: "m"}, ""), aggregator.CreateOptions{})

		// Two stores migrating at once (replicas starting together).
		var wg sync.WaitGroup
		for i := 0; i < 2; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Migrate(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()

		// A newer server's migration: refused.
		if err := s.w.Exec("INSERT INTO " + migrationTable + " (id) VALUES ('9999_future')").Error; err != nil {
			t.Fatal(err)
		}
		if ok, _ := s.SchemaUpToDate(ctx); ok {
			t.Errorf("SchemaUpToDate with a future migration: got true, want false")
		}
		for _, migrate := range []bool{false, true} {
			if _, err := Open(ctx, dsn, Options{Migrate: migrate}); err == nil || !strings.Contains(err.Error(), "newer") {
				t.Errorf("open a newer database (Migrate %v): got %v, want a newer-schema error", migrate, err)
			}
		}
	})
}

func TestMigrationsFromScratchConcurrently(t *testing.T) {
	// Two replicas start at once on an empty PostgreSQL database: the
	// advisory lock makes one wait for the other.
	for _, d := range testDialects(t) {
		if d != dialectPostgres {
			continue
		}
		dsn := newTestDSN(t, d)
		var wg sync.WaitGroup
		for i := 0; i < 3; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := Open(context.Background(), dsn, Options{Migrate: true})
				if err != nil {
					t.Errorf("replica %d: %v", i, err)
					return
				}
				s.Close()
			}()
		}
		wg.Wait()
	}
}

func TestOpenDSN(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		dsn, file string
	}{
		{filepath.Join(dir, "a.db"), "a.db"},
		{"sqlite:" + filepath.Join(dir, "b.db"), "b.db"},
		{"file:" + filepath.Join(dir, "c.db") + "?cache=private", "c.db"},
		{filepath.Join(dir, "we?ird#name.db"), "we?ird#name.db"},
	} {
		s, err := Open(context.Background(), tc.dsn, Options{Migrate: true})
		if err != nil {
			t.Errorf("Open(%q): %v", tc.dsn, err)
			continue
		}
		s.Close()
		if _, err := os.Stat(filepath.Join(dir, tc.file)); err != nil {
			t.Errorf("Open(%q): got no file %s: %v", tc.dsn, tc.file, err)
		}
	}
	for _, bad := range []string{":memory:", "file::memory:?cache=shared", "mysql://x"} {
		if _, err := Open(context.Background(), bad, Options{Migrate: true}); err == nil {
			t.Errorf("Open(%q): got no error, want one", bad)
		}
	}
	// "" is pony.db in the working directory.
	t.Chdir(dir)
	s, err := Open(context.Background(), "", Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, "pony.db")); err != nil {
		t.Errorf("default dsn: %v", err)
	}
}
