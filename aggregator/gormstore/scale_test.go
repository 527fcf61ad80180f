package gormstore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/aggregator/httpapi"
	"github.com/pony-build/pony/web"
)

// The scale benchmark of issue 4 (BENCHMARKS.md, "Matrix and flakiness at
// scale"): not in CI, run by scripts/bench-scale.sh. Env:
// PONY_SCALE_BENCH=1 runs it; PONY_SCALE_RESULTS and PONY_SCALE_TESTS
// change the history's size (default 2,000 results of 1,000 tests);
// PONY_SCALE_CALLS the timed read calls (default 50).

func envInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// scaleEnvs are 24 environments: 2 hosts × 2 architectures × 6 runtimes.
func scaleEnvs() []aggregator.Env {
	var out []aggregator.Env
	for _, h := range []string{"linux1", "linux2"} {
		for _, a := range []string{"amd64", "arm64"} {
			for v := 18; v <= 23; v++ {
				out = append(out, aggregator.Env{Package: "scale", Host: h, Arch: a, Runtime: fmt.Sprintf("go1.%d", v), Tags: []string{"ci"}})
			}
		}
	}
	return out
}

// scaleBag is result i of the generated history: environment i mod 24, one
// result in ten on branch dev, each commit built twice per environment;
// one test in 30 flaky (fails 15% of the time, half of those retried into
// a pass: a retry flake), one in 100 broken on go1.18 only (a
// compatibility break), one in 50 skipped, and about one result in 100 an
// infrastructure failure (every test errors).
func scaleBag(envs []aggregator.Env, base time.Time, i, tests int) *pony.Bag {
	rng := rand.New(rand.NewSource(int64(i)))
	env := envs[i%len(envs)]
	branch := "main"
	if i%10 == 9 {
		branch = "dev"
	}
	infra := i%97 == 50
	st := pony.Step{Type: "test", Name: "go test ./...", Format: "gotest", Tests: make([]pony.TestResult, 0, tests+tests/50)}
	for j := 0; j < tests; j++ {
		t := pony.TestResult{Suite: fmt.Sprintf("example.com/mod/pkg%02d", j/20), Name: fmt.Sprintf("TestCase%04d", j), Status: pony.StatusPass, Duration: float64(j%50) / 1000}
		switch {
		case infra:
			t.Status, t.Message = pony.StatusError, "cannot connect to the database"
		case j%30 == 0 && rng.Float64() < 0.15:
			t.Status, t.Message = pony.StatusFail, "timeout"
			if rng.Intn(2) == 0 { // retried: passes on the second attempt
				t.Attempt = 1
				st.Tests = append(st.Tests, t)
				t.Attempt, t.Status, t.Message = 2, pony.StatusPass, ""
			}
		case j%100 == 17 && env.Runtime == "go1.18":
			t.Status, t.Message = pony.StatusFail, "undefined: slices.Contains"
		case j%50 == 23:
			t.Status = pony.StatusSkip
		}
		st.Tests = append(st.Tests, t)
	}
	bag := newBag(env, branch, st)
	bag.ClientInfo.Commit = fmt.Sprintf("%040x", i/(2*len(envs)))
	bag.Receipt.Time = base.Add(time.Duration(i) * 30 * time.Second)
	bag.Receipt.ResultKey = fmt.Sprintf("%011x%08d", bag.Receipt.Time.UnixMilli(), i)
	return bag
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// timeCalls runs f n times (after one warm-up call) and returns p50, p99.
func timeCalls(t *testing.T, n int, f func() error) (time.Duration, time.Duration) {
	if err := f(); err != nil {
		t.Fatal(err)
	}
	d := make([]time.Duration, n)
	for i := range d {
		start := time.Now()
		if err := f(); err != nil {
			t.Fatal(err)
		}
		d[i] = time.Since(start)
	}
	return percentile(d, 0.5), percentile(d, 0.99)
}

// TestScale ingests the generated history into two stores of the same
// dialect, one keeping the test states and one not (skipUpkeep), result by
// result through CreateResult, alternating which goes first, and reports
// each one's total ingest time; then times the matrix (Service.Matrix:
// TestStates + Expected + BuildMatrix), TestStates alone and the flaky
// ranking (Service.Flaky) on the first.
func TestScale(t *testing.T) {
	if os.Getenv("PONY_SCALE_BENCH") != "1" {
		t.Skip("the scale benchmark runs with PONY_SCALE_BENCH=1 (scripts/bench-scale.sh)")
	}
	results := envInt(t, "PONY_SCALE_RESULTS", 2000)
	tests := envInt(t, "PONY_SCALE_TESTS", 1000)
	calls := envInt(t, "PONY_SCALE_CALLS", 50)
	envs := scaleEnvs()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ctx := context.Background()
	for _, d := range testDialects(t) {
		t.Run(d, func(t *testing.T) {
			with := openTestStore(t, newTestDSN(t, d), Options{Migrate: true, SlowQuery: -1})
			without := openTestStore(t, newTestDSN(t, d), Options{Migrate: true, SlowQuery: -1, skipUpkeep: true})
			var tWith, tWithout time.Duration
			verdicts := 0
			for i := 0; i < results; i++ {
				bag := scaleBag(envs, base, i, tests)
				verdicts += len(bag.Steps[0].Tests)
				order := []*Store{with, without}
				if i%2 == 1 {
					order[0], order[1] = without, with
				}
				for _, s := range order {
					start := time.Now()
					if _, _, err := s.CreateResult(ctx, bag, aggregator.CreateOptions{}); err != nil {
						t.Fatalf("result %d: %v", i, err)
					}
					if s == with {
						tWith += time.Since(start)
					} else {
						tWithout += time.Since(start)
					}
				}
				if (i+1)%250 == 0 {
					t.Logf("%d results: with upkeep %v, without %v", i+1, tWith.Round(time.Millisecond), tWithout.Round(time.Millisecond))
				}
			}
			over := 100 * (tWith.Seconds() - tWithout.Seconds()) / tWithout.Seconds()
			fmt.Printf("SCALE %s ingest: %d results, %d verdict entries, %d environments: with upkeep %.1f s (%.0f verdicts/s), without %.1f s (%.0f verdicts/s): upkeep +%.1f%%\n",
				d, results, verdicts, len(envs), tWith.Seconds(), float64(verdicts)/tWith.Seconds(), tWithout.Seconds(), float64(verdicts)/tWithout.Seconds(), over)

			svc := aggregator.New(with, aggregator.Options{Now: func() time.Time { return base.Add(time.Duration(results) * 30 * time.Second) }})
			var m aggregator.Matrix
			var afterIngest []time.Duration
			p50, p99 := timeCalls(t, calls, func() (err error) {
				m, err = svc.Matrix(ctx, "scale", aggregator.MatrixQuery{Rows: "test", Cols: "host,arch,runtime"})
				return err
			})
			if len(m.Rows) != tests || len(m.Columns) != len(envs) {
				t.Errorf("matrix: got %d rows × %d columns, want %d × %d", len(m.Rows), len(m.Columns), tests, len(envs))
			}
			fmt.Printf("SCALE %s matrix rows=test cols=host,arch,runtime (%d × %d): p50 %v p99 %v (%d calls)\n", d, len(m.Rows), len(m.Columns), p50, p99, calls)
			// The same matrix right after each of calls more results (one
			// environment's, in turn), as on a server taking results: the
			// first read after an ingest, which the states cache cannot
			// serve whole. The ingest itself is not timed.
			next := results
			p50, p99 = timeCalls(t, calls, func() (err error) {
				if _, _, err := with.CreateResult(ctx, scaleBag(envs, base, next, tests), aggregator.CreateOptions{}); err != nil {
					return err
				}
				next++
				start := time.Now()
				m, err = svc.Matrix(ctx, "scale", aggregator.MatrixQuery{Rows: "test", Cols: "host,arch,runtime"})
				afterIngest = append(afterIngest, time.Since(start))
				return err
			})
			_, _ = p50, p99 // the ingest is in those; afterIngest has the reads alone
			fmt.Printf("SCALE %s matrix right after an ingest (%d × %d): p50 %v p99 %v (%d calls)\n", d, len(m.Rows), len(m.Columns),
				percentile(afterIngest[1:], 0.5), percentile(afterIngest[1:], 0.99), len(afterIngest)-1)
			p50, p99 = timeCalls(t, calls, func() (err error) {
				m, err = svc.Matrix(ctx, "scale", aggregator.MatrixQuery{Rows: "suite", Cols: "host,arch,runtime", Filter: "differs"})
				return err
			})
			fmt.Printf("SCALE %s matrix rows=suite filter=differs (%d × %d): p50 %v p99 %v\n", d, len(m.Rows), len(m.Columns), p50, p99)
			var n int
			p50, p99 = timeCalls(t, calls, func() error {
				st, _, err := with.TestStates(ctx, aggregator.StateFilter{Package: "scale"})
				n = len(st)
				return err
			})
			fmt.Printf("SCALE %s TestStates alone (%d states, every branch): p50 %v p99 %v\n", d, n, p50, p99)
			p50, p99 = timeCalls(t, calls, func() error {
				st, _, err := with.TestStates(ctx, aggregator.StateFilter{Package: "scale", Branch: "main"})
				n = len(st)
				return err
			})
			fmt.Printf("SCALE %s TestStates alone (%d states, branch main): p50 %v p99 %v\n", d, n, p50, p99)
			var fl []aggregator.FlakyTest
			p50, p99 = timeCalls(t, calls, func() (err error) {
				fl, err = svc.Flaky(ctx, "scale", "")
				return err
			})
			fmt.Printf("SCALE %s flaky ranking (%d flaky tests): p50 %v p99 %v\n", d, len(fl), p50, p99)
			if want := (tests + 29) / 30; len(fl) < want/2 {
				t.Errorf("flaky tests: got %d, want about %d", len(fl), want)
			}
			timePages(t, d, svc, calls)
		})
	}
}

// timePages times the server-side render of the web pages of issue 5 on
// the scale history, through the same engine pony-server mounts (the JSON
// API with the pages on it), beside the JSON API's matrix in the same run:
// calls GET requests of each path after one warm-up, p50 and p99.
func timePages(t *testing.T, dialect string, svc *aggregator.Service, calls int) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	pages, err := web.New(svc, web.Options{Logger: logger, BaseURL: "http://bench.example"})
	if err != nil {
		t.Fatal(err)
	}
	h := httpapi.New(svc, httpapi.Options{Logger: logger, Mount: pages.Register}).Handler()
	for _, q := range []struct{ name, path string }{
		{"JSON API matrix rows=test", "/api/v1/packages/scale/matrix?rows=test"},
		{"web matrix page rows=test", "/p/scale/matrix?rows=test"},
		{"web scoreboard /", "/"},
		{"web package page", "/p/scale"},
		{"web feed /feed.atom", "/feed.atom"},
	} {
		var size int
		p50, p99 := timeCalls(t, calls, func() error {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, q.path, nil))
			if rec.Code != http.StatusOK {
				return fmt.Errorf("GET %s: got status %d, want 200: %.300s", q.path, rec.Code, rec.Body.String())
			}
			size = rec.Body.Len()
			return nil
		})
		fmt.Printf("SCALE %s %s GET %s (%d bytes): p50 %v p99 %v (%d calls)\n", dialect, q.name, q.path, size, p50, p99, calls)
	}
}
