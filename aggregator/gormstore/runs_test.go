package gormstore

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// newRun returns a run record of the environment, opened at t.
func newRun(env aggregator.Env, idem string, t time.Time, steps ...pony.Step) aggregator.RunRecord {
	if steps == nil {
		steps = []pony.Step{}
	}
	return aggregator.RunRecord{
		Run: aggregator.Run{Key: aggregator.NewResultKey(), State: aggregator.RunRunning, Env: env,
			Bag:     &pony.Bag{ClientInfo: pony.ClientInfo{Package: env.Package, Host: env.Host, Arch: env.Arch, Tags: env.Tags}, Steps: steps},
			Started: t, Updated: t, ClientIP: "10.0.0.9"},
		IdempotencyKey: idem, UpdateTokenHash: aggregator.HashToken("secret-token-0123456789"),
	}
}

func runStep(name string, statuses ...pony.Status) pony.Step {
	st := pony.Step{Type: "test", Name: name, Format: "gotest", Output: "out\x00put"}
	for i, s := range statuses {
		st.Tests = append(st.Tests, pony.TestResult{Suite: "s", Name: fmt.Sprintf("%s/T%d", name, i), Status: s, Attempt: 1})
	}
	return st
}

func mustCreateRun(tb testing.TB, s *Store, r aggregator.RunRecord) aggregator.RunRecord {
	tb.Helper()
	rec, existed, err := s.CreateRun(context.Background(), r)
	if err != nil || existed {
		tb.Fatalf("CreateRun: got existed %v, err %v; want a new run", existed, err)
	}
	return rec
}

func TestRunLifecycle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := newTestStore(t, dialect)
		ctx := context.Background()
		env := aggregator.Env{Package: "p", Host: "h", Arch: "linux-amd64", Tags: []string{"nightly"}}
		t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		r := newRun(env, "idem-1", t0, runStep("build"))
		rec := mustCreateRun(t, s, r)
		if rec.Key != r.Key || rec.State != aggregator.RunRunning || len(rec.Bag.Steps) != 1 || rec.Bag.Steps[0].Name != "build" {
			t.Fatalf("created run: got %+v, want key %s running with the build step", rec.Run, r.Key)
		}
		if rec.Bag.Steps[0].Output != "out\x00put" {
			t.Errorf("step output: got %q, want %q", rec.Bag.Steps[0].Output, "out\x00put")
		}

		// The same idempotency key: the first run, nothing new.
		again, existed, err := s.CreateRun(ctx, newRun(env, "idem-1", t0))
		if err != nil || !existed || again.Key != r.Key {
			t.Fatalf("CreateRun again: got key %s existed %v err %v, want key %s existed", again.Key, existed, err, r.Key)
		}

		steps := []struct {
			seq        int
			wantNext   int
			wantStored bool
			wantCode   aggregator.Code
		}{
			{seq: 1, wantNext: 2, wantStored: true},
			{seq: 1, wantNext: 2},                    // a replay
			{seq: 0, wantNext: 2},                    // an older replay
			{seq: 3, wantCode: aggregator.EConflict}, // a gap
			{seq: 2, wantNext: 3, wantStored: true},  // the next one
		}
		for i, tc := range steps {
			next, stored, err := s.AppendRunStep(ctx, r.Key, tc.seq, runStep(fmt.Sprintf("test%d", tc.seq), pony.StatusPass, pony.StatusFail), t0.Add(time.Duration(i+1)*time.Second))
			if code := aggregator.ErrorCode(err); code != tc.wantCode {
				t.Fatalf("step %d (seq %d): got error %v, want code %q", i, tc.seq, err, tc.wantCode)
			}
			if tc.wantCode == aggregator.EConflict {
				var e *aggregator.Error
				if ae, ok := err.(*aggregator.Error); ok {
					e = ae
				}
				if e == nil || fmt.Sprint(e.Detail) != "map[next:2]" {
					t.Errorf("gap detail: got %+v, want next 2", e)
				}
				continue
			}
			if next != tc.wantNext || stored != tc.wantStored {
				t.Errorf("step %d (seq %d): got next %d stored %v, want %d %v", i, tc.seq, next, stored, tc.wantNext, tc.wantStored)
			}
		}
		if _, _, err := s.AppendRunStep(ctx, "nope", 0, runStep("x"), t0); aggregator.ErrorCode(err) != aggregator.ENotFound {
			t.Errorf("step of an unknown run: got %v, want not found", err)
		}

		p := aggregator.RunProgress{Step: "go test", Tests: 120, Failed: 2, Elapsed: 31.5}
		if err := s.SetRunProgress(ctx, r.Key, p, t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := s.SetRunProgress(ctx, "nope", p, t0); aggregator.ErrorCode(err) != aggregator.ENotFound {
			t.Errorf("progress of an unknown run: got %v, want not found", err)
		}
		got, err := s.RunRecord(ctx, r.Key)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Bag.Steps) != 3 || got.Bag.Steps[2].Name != "test2" || got.Progress == nil || *got.Progress != p || !got.Updated.Equal(t0.Add(time.Minute)) {
			t.Errorf("run: got %d steps, progress %+v, updated %v; want 3 steps, %+v, %v", len(got.Bag.Steps), got.Progress, got.Updated, p, t0.Add(time.Minute))
		}
		if got.UpdateTokenHash != r.UpdateTokenHash || got.IdempotencyKey != "idem-1" || got.ClientIP != "10.0.0.9" {
			t.Errorf("record: got %+v, want the token hash, idempotency key and client IP kept", got)
		}

		// Complete it with the whole bag.
		bag := &pony.Bag{ClientInfo: got.Bag.ClientInfo, Steps: got.Bag.Steps,
			Receipt: &pony.Receipt{ResultKey: r.Key, Time: t0.Add(2 * time.Minute), ClientIP: "10.0.0.9"}}
		rec1, existed, err := s.CompleteRun(ctx, r.Key, bag, aggregator.CreateOptions{IdempotencyKey: "idem-1", AuthKeyHash: r.UpdateTokenHash})
		if err != nil || existed || rec1.ResultKey != r.Key {
			t.Fatalf("CompleteRun: got %+v existed %v err %v, want a new result under %s", rec1, existed, err, r.Key)
		}
		rec2, existed, err := s.CompleteRun(ctx, r.Key, bag, aggregator.CreateOptions{IdempotencyKey: "idem-1"})
		if err != nil || !existed || rec2 != rec1 {
			t.Fatalf("CompleteRun again: got %+v existed %v err %v, want %+v existed", rec2, existed, err, rec1)
		}
		stored, err := s.Result(ctx, r.Key)
		if err != nil {
			t.Fatal(err)
		}
		if len(stored.Steps) != 3 || stored.Totals().Tests != 4 {
			t.Errorf("result: got %d steps, %d tests; want 3, 4", len(stored.Steps), stored.Totals().Tests)
		}
		if n := count(t, s, "results"); n != 1 {
			t.Errorf("results: got %d rows, want 1", n)
		}
		if n := count(t, s, "run_steps"); n != 0 {
			t.Errorf("run_steps of a complete run: got %d rows, want 0 (they live in the result)", n)
		}
		if _, _, err := s.AppendRunStep(ctx, r.Key, 3, runStep("late"), t0); aggregator.ErrorCode(err) != aggregator.EConflict {
			t.Errorf("step of a complete run: got %v, want conflict", err)
		}
		if err := s.SetRunProgress(ctx, r.Key, p, t0); aggregator.ErrorCode(err) != aggregator.EConflict {
			t.Errorf("progress of a complete run: got %v, want conflict", err)
		}
		// The result is folded like any other: it has its test states.
		states, _, err := s.TestStates(ctx, aggregator.StateFilter{Package: "p"})
		if err != nil {
			t.Fatal(err)
		}
		if len(states) != 4 {
			t.Errorf("test states: got %d, want 4", len(states))
		}
		if _, _, err := s.CompleteRun(ctx, "nope", &pony.Bag{ClientInfo: bag.ClientInfo, Receipt: &pony.Receipt{ResultKey: "nope"}}, aggregator.CreateOptions{}); aggregator.ErrorCode(err) != aggregator.ENotFound {
			t.Errorf("complete an unknown run: got %v, want not found", err)
		}
	})
}

func TestRunsAbandonAndList(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		s := newTestStore(t, dialect)
		ctx := context.Background()
		env := aggregator.Env{Package: "p", Host: "h", Arch: "a", Tags: []string{}}
		t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		old := mustCreateRun(t, s, newRun(env, "old", t0))
		mid := mustCreateRun(t, s, newRun(env, "mid", t0.Add(5*time.Minute+500*time.Millisecond)))
		recent := mustCreateRun(t, s, newRun(env, "new", t0.Add(9*time.Minute)))
		other := mustCreateRun(t, s, newRun(aggregator.Env{Package: "q", Host: "h", Arch: "a"}, "other", t0))
		done := mustCreateRun(t, s, newRun(env, "done", t0.Add(time.Minute)))
		b := &pony.Bag{ClientInfo: done.Bag.ClientInfo, Receipt: &pony.Receipt{ResultKey: done.Key, Time: t0.Add(2 * time.Minute)}}
		if _, _, err := s.CompleteRun(ctx, done.Key, b, aggregator.CreateOptions{IdempotencyKey: "done"}); err != nil {
			t.Fatal(err)
		}

		n, err := s.AbandonRuns(ctx, t0.Add(6*time.Minute))
		if err != nil || n != 3 {
			t.Fatalf("AbandonRuns: got %d, %v; want 3 (old, mid, other)", n, err)
		}
		if n, err := s.AbandonRuns(ctx, t0.Add(6*time.Minute)); err != nil || n != 0 {
			t.Errorf("AbandonRuns again: got %d, %v; want 0", n, err)
		}
		runs, err := s.Runs(ctx, "p", []aggregator.RunState{aggregator.RunRunning, aggregator.RunAbandoned}, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range runs {
			got = append(got, r.Key+":"+string(r.State))
		}
		want := []string{recent.Key + ":running", mid.Key + ":abandoned", old.Key + ":abandoned"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("runs: got %v, want %v", got, want)
		}
		if runs, _ := s.Runs(ctx, "p", []aggregator.RunState{aggregator.RunRunning, aggregator.RunAbandoned}, 1); len(runs) != 1 {
			t.Errorf("runs with limit 1: got %d", len(runs))
		}
		// A step revives an abandoned run.
		if _, _, err := s.AppendRunStep(ctx, old.Key, 0, runStep("late", pony.StatusPass), t0.Add(7*time.Minute)); err != nil {
			t.Fatal(err)
		}
		// So does progress.
		if err := s.SetRunProgress(ctx, other.Key, aggregator.RunProgress{Tests: 1}, t0.Add(7*time.Minute)); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{old.Key, other.Key} {
			r, err := s.RunRecord(ctx, k)
			if err != nil || r.State != aggregator.RunRunning {
				t.Errorf("run %s after a word from its client: got %q, %v; want running", k, r.State, err)
			}
		}
		runs, _ = s.Runs(ctx, "p", []aggregator.RunState{aggregator.RunRunning}, 10)
		if len(runs) != 2 || len(runs[1].Bag.Steps) != 1 && len(runs[0].Bag.Steps) != 1 {
			t.Errorf("running runs: got %d, want 2, one with its step", len(runs))
		}
	})
}

// TestRunConcurrency: two requests appending the same step store it once;
// two finishing the same run store one result (on PostgreSQL, each through
// its own store, as two replicas would).
func TestRunConcurrency(t *testing.T) {
	forEachDialect(t, func(t *testing.T, dialect string) {
		dsn := newTestDSN(t, dialect)
		a := openTestStore(t, dsn, Options{Migrate: true})
		b := a
		if dialect == dialectPostgres {
			b = openTestStore(t, dsn, Options{})
		}
		ctx := context.Background()
		env := aggregator.Env{Package: "p", Host: "h", Arch: "a"}
		t0 := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
		for round := range 10 {
			r := mustCreateRun(t, a, newRun(env, fmt.Sprint("idem-", round), t0))
			var wg sync.WaitGroup
			var mu sync.Mutex
			storedN := 0
			var errs []error
			for i, st := range []*Store{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, stored, err := st.AppendRunStep(ctx, r.Key, 0, runStep(fmt.Sprint("s", i), pony.StatusPass), t0)
					mu.Lock()
					defer mu.Unlock()
					if stored {
						storedN++
					}
					if err != nil {
						errs = append(errs, err)
					}
				}()
			}
			wg.Wait()
			if storedN != 1 || len(errs) > 0 {
				t.Fatalf("round %d: two appends of step 0: got %d stored, errors %v; want 1 stored, no error", round, storedN, errs)
			}
			rec, err := a.RunRecord(ctx, r.Key)
			if err != nil || len(rec.Bag.Steps) != 1 {
				t.Fatalf("round %d: got %d steps, %v; want 1", round, len(rec.Bag.Steps), err)
			}

			var receipts []pony.Receipt
			existedN := 0
			for _, st := range []*Store{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					bag := &pony.Bag{ClientInfo: rec.Bag.ClientInfo, Steps: rec.Bag.Steps,
						Receipt: &pony.Receipt{ResultKey: r.Key, Time: t0.Add(time.Minute)}}
					got, existed, err := st.CompleteRun(ctx, r.Key, bag, aggregator.CreateOptions{IdempotencyKey: r.IdempotencyKey})
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, err)
						return
					}
					receipts = append(receipts, got)
					if existed {
						existedN++
					}
				}()
			}
			wg.Wait()
			if len(errs) > 0 || len(receipts) != 2 || receipts[0] != receipts[1] || existedN != 1 {
				t.Fatalf("round %d: two finishes: got receipts %+v, %d existed, errors %v; want one receipt twice, one existed", round, receipts, existedN, errs)
			}
		}
		if n := count(t, a, "results"); n != 10 {
			t.Errorf("results: got %d, want 10", n)
		}
	})
}
