package aggregator_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

const token = "client-token-0123456789"

func openBag() *pony.Bag {
	return &pony.Bag{ClientInfo: pony.ClientInfo{Package: "p", Host: "h", Arch: "linux-amd64", Tags: []string{"nightly"}}}
}

func TestOpenRun(t *testing.T) {
	svc, _ := newService(t, aggregator.Options{})
	ctx := context.Background()
	first, err := svc.OpenRun(ctx, openBag(), aggregator.RunOptions{IdempotencyKey: "k", UpdateToken: token})
	if err != nil || first.Existed || first.UpdateToken != token || first.State != aggregator.RunRunning {
		t.Fatalf("OpenRun: got %+v, %v; want a new running run with the client's token", first, err)
	}
	made, err := svc.OpenRun(ctx, openBag(), aggregator.RunOptions{IdempotencyKey: "k2"})
	if err != nil || !strings.HasPrefix(made.UpdateToken, "run_") || len(made.UpdateToken) < 64 {
		t.Errorf("OpenRun without a token: got %+v, %v; want a server-made token", made, err)
	}
	cases := []struct {
		name     string
		bag      *pony.Bag
		opts     aggregator.RunOptions
		wantCode aggregator.Code
		wantKey  string
	}{
		{"repeat with the same token", openBag(), aggregator.RunOptions{IdempotencyKey: "k", UpdateToken: token}, "", first.ResultKey},
		{"repeat with another token", openBag(), aggregator.RunOptions{IdempotencyKey: "k", UpdateToken: "another-token-000000"}, aggregator.EConflict, ""},
		{"repeat without a token", openBag(), aggregator.RunOptions{IdempotencyKey: "k"}, aggregator.EConflict, ""},
		{"no idempotency key", openBag(), aggregator.RunOptions{UpdateToken: token}, aggregator.EInvalid, ""},
		{"idempotency key too long", openBag(), aggregator.RunOptions{IdempotencyKey: strings.Repeat("k", 256)}, aggregator.ETooLarge, ""},
		{"token too short", openBag(), aggregator.RunOptions{IdempotencyKey: "k3", UpdateToken: "short"}, aggregator.EInvalid, ""},
		{"token too long", openBag(), aggregator.RunOptions{IdempotencyKey: "k3", UpdateToken: strings.Repeat("t", 256)}, aggregator.EInvalid, ""},
		{"no package", &pony.Bag{}, aggregator.RunOptions{IdempotencyKey: "k3"}, aggregator.EInvalid, ""},
		{"host over its cap", &pony.Bag{ClientInfo: pony.ClientInfo{Package: "p", Host: strings.Repeat("h", 2000)}}, aggregator.RunOptions{IdempotencyKey: "k3"}, aggregator.ETooLarge, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := svc.OpenRun(ctx, tc.bag, tc.opts)
			if code := aggregator.ErrorCode(err); code != tc.wantCode {
				t.Fatalf("got error %v, want code %q", err, tc.wantCode)
			}
			if tc.wantKey != "" && (got.ResultKey != tc.wantKey || !got.Existed) {
				t.Errorf("got %+v, want key %s existed", got, tc.wantKey)
			}
		})
	}
}

func TestRunSteps(t *testing.T) {
	svc, clk := newService(t, aggregator.Options{Limits: pony.Limits{Name: 64, Text: 1024, Output: 16, StepOutput: 32, Tests: 100, Steps: 3, Tags: 8}})
	ctx := context.Background()
	run, err := svc.OpenRun(ctx, openBag(), aggregator.RunOptions{IdempotencyKey: "k", UpdateToken: token})
	if err != nil {
		t.Fatal(err)
	}
	st := bag("p", "h", pony.StatusPass, pony.StatusFail).Steps[0]
	st.Output = strings.Repeat("o", 100) + "verdict"
	cases := []struct {
		name       string
		key, token string
		seq        int
		step       pony.Step
		wantNext   int
		wantStored bool
		wantCode   aggregator.Code
	}{
		{"first", run.ResultKey, token, 0, st, 1, true, ""},
		{"replay", run.ResultKey, token, 0, st, 1, false, ""},
		{"gap", run.ResultKey, token, 2, st, 0, false, aggregator.EConflict},
		{"negative seq", run.ResultKey, token, -1, st, 0, false, aggregator.EInvalid},
		{"no token", run.ResultKey, "", 1, st, 0, false, aggregator.EUnauthorized},
		{"wrong token", run.ResultKey, "wrong-token-0000000", 1, st, 0, false, aggregator.EUnauthorized},
		{"unknown run", "nope", token, 0, st, 0, false, aggregator.ENotFound},
		{"name over its cap", run.ResultKey, token, 1, pony.Step{Name: strings.Repeat("n", 65)}, 0, false, aggregator.ETooLarge},
		{"second", run.ResultKey, token, 1, pony.Step{Name: "package"}, 2, true, ""},
		{"over the steps cap", run.ResultKey, token, 3, pony.Step{Name: "x"}, 0, false, aggregator.ETooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk.Add(time.Second)
			next, stored, err := svc.AppendRunStep(ctx, tc.key, tc.token, tc.seq, tc.step)
			if code := aggregator.ErrorCode(err); code != tc.wantCode {
				t.Fatalf("got error %v, want code %q", err, tc.wantCode)
			}
			if next != tc.wantNext || stored != tc.wantStored {
				t.Errorf("got next %d stored %v, want %d %v", next, stored, tc.wantNext, tc.wantStored)
			}
		})
	}
	got, err := svc.Run(ctx, run.ResultKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Bag.Steps) != 2 {
		t.Fatalf("run: got %d steps, want 2", len(got.Bag.Steps))
	}
	// Trimmed like an ingested bag's: the tail kept, a passing test's
	// output dropped.
	if s := got.Bag.Steps[0]; len(s.Output) > 40 || !strings.HasSuffix(s.Output, "verdict") || s.Tests[0].Output != "" {
		t.Errorf("stored step: output %q, passing test output %q; want the capped tail and none", s.Output, s.Tests[0].Output)
	}
}

func TestRunProgressAndReap(t *testing.T) {
	svc, clk := newService(t, aggregator.Options{RunTimeout: 10 * time.Minute})
	ctx := context.Background()
	run, err := svc.OpenRun(ctx, openBag(), aggregator.RunOptions{IdempotencyKey: "k", UpdateToken: token})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		token    string
		p        aggregator.RunProgress
		wantCode aggregator.Code
	}{
		{"progress", token, aggregator.RunProgress{Step: "go test", Tests: 120, Failed: 2, Elapsed: 31.5}, ""},
		{"negative", token, aggregator.RunProgress{Tests: -1}, aggregator.EInvalid},
		{"wrong token", "wrong-token-0000000", aggregator.RunProgress{Tests: 1}, aggregator.EUnauthorized},
		{"step name over its cap", token, aggregator.RunProgress{Step: strings.Repeat("s", 2000)}, aggregator.ETooLarge},
	}
	for _, tc := range cases {
		if err := svc.RunProgress(ctx, run.ResultKey, tc.token, tc.p); aggregator.ErrorCode(err) != tc.wantCode {
			t.Errorf("%s: got %v, want code %q", tc.name, err, tc.wantCode)
		}
	}
	clk.Add(9 * time.Minute)
	if n, err := svc.ReapRuns(ctx); err != nil || n != 0 {
		t.Errorf("reap before the timeout: got %d, %v; want 0", n, err)
	}
	clk.Add(2 * time.Minute)
	if n, err := svc.ReapRuns(ctx); err != nil || n != 1 {
		t.Errorf("reap after the timeout: got %d, %v; want 1", n, err)
	}
	runs, err := svc.Runs(ctx, "p")
	if err != nil || len(runs) != 1 || runs[0].State != aggregator.RunAbandoned || runs[0].Progress == nil || runs[0].Progress.Tests != 120 {
		t.Fatalf("runs: got %+v, %v; want the abandoned run with its progress", runs, err)
	}
	// A word from the client revives it.
	if err := svc.RunProgress(ctx, run.ResultKey, token, aggregator.RunProgress{Tests: 130}); err != nil {
		t.Fatal(err)
	}
	if r, err := svc.Run(ctx, run.ResultKey); err != nil || r.State != aggregator.RunRunning {
		t.Errorf("after progress: got %q, %v; want running", r.State, err)
	}
}

func TestFinishRun(t *testing.T) {
	svc, _ := newService(t, aggregator.Options{})
	ctx := context.Background()
	whole := bag("p", "h", pony.StatusPass, pony.StatusFail)
	open := func(idem string) aggregator.OpenedRun {
		t.Helper()
		r, err := svc.OpenRun(ctx, &pony.Bag{ClientInfo: whole.ClientInfo}, aggregator.RunOptions{IdempotencyKey: idem, UpdateToken: token, ClientIP: "10.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.AppendRunStep(ctx, r.ResultKey, token, 0, whole.Steps[0]); err != nil {
			t.Fatal(err)
		}
		return r
	}

	t.Run("empty results_list means the stored steps", func(t *testing.T) {
		r := open("a")
		ci := whole.ClientInfo
		ci.Commit = "abc"
		res, err := svc.FinishRun(ctx, r.ResultKey, token, &pony.Bag{ClientInfo: ci}, "")
		if err != nil || res.Existed || res.Receipt.ResultKey != r.ResultKey || res.Receipt.ClientIP != "10.0.0.1" {
			t.Fatalf("FinishRun: got %+v, %v; want a new result under %s from the run's client IP", res, err, r.ResultKey)
		}
		b, err := svc.Result(ctx, r.ResultKey)
		if err != nil || len(b.Steps) != 1 || len(b.Steps[0].Tests) != 2 || b.ClientInfo.Commit != "abc" {
			t.Errorf("result: got %+v, %v; want the run's step and the final client_info", b, err)
		}
		again, err := svc.FinishRun(ctx, r.ResultKey, token, &pony.Bag{ClientInfo: ci}, "")
		if err != nil || !again.Existed || again.Receipt != res.Receipt {
			t.Errorf("FinishRun again: got %+v, %v; want the first receipt, existed", again, err)
		}
		if _, err := svc.Run(ctx, r.ResultKey); aggregator.ErrorCode(err) != aggregator.ENotFound {
			t.Errorf("Run of a complete run: got %v, want not found", err)
		}
		if _, _, err := svc.AppendRunStep(ctx, r.ResultKey, token, 1, whole.Steps[0]); aggregator.ErrorCode(err) != aggregator.EConflict {
			t.Errorf("a step after finish: got %v, want conflict", err)
		}
	})
	t.Run("no package means the run's client_info", func(t *testing.T) {
		r := open("b")
		res, err := svc.FinishRun(ctx, r.ResultKey, token, &pony.Bag{Steps: whole.Steps}, "10.0.0.2")
		if err != nil || res.Receipt.ClientIP != "10.0.0.2" {
			t.Fatalf("FinishRun: got %+v, %v", res, err)
		}
		b, _ := svc.Result(ctx, r.ResultKey)
		if b.ClientInfo.Package != "p" || b.ClientInfo.Host != "h" {
			t.Errorf("client_info: got %+v, want the run's", b.ClientInfo)
		}
	})
	cases := []struct {
		name     string
		token    string
		bag      *pony.Bag
		wantCode aggregator.Code
	}{
		{"wrong token", "wrong-token-0000000", whole, aggregator.EUnauthorized},
		{"another package", token, bag("q", "h", pony.StatusPass), aggregator.EInvalid},
		{"invalid step", token, &pony.Bag{ClientInfo: whole.ClientInfo, Steps: []pony.Step{{Name: strings.Repeat("n", 2000)}}}, aggregator.ETooLarge},
	}
	r := open("c")
	for _, tc := range cases {
		if _, err := svc.FinishRun(ctx, r.ResultKey, tc.token, tc.bag, ""); aggregator.ErrorCode(err) != tc.wantCode {
			t.Errorf("%s: got %v, want code %q", tc.name, err, tc.wantCode)
		}
	}
}

// TestIngestCompletesRun: a bag sent with the idempotency key of a run not
// complete completes the run (same key, one result); once complete, the
// key replays.
func TestIngestCompletesRun(t *testing.T) {
	svc, _ := newService(t, aggregator.Options{})
	ctx := context.Background()
	whole := bag("p", "h", pony.StatusPass, pony.StatusFail)
	r, err := svc.OpenRun(ctx, &pony.Bag{ClientInfo: whole.ClientInfo}, aggregator.RunOptions{IdempotencyKey: "spool", UpdateToken: token})
	if err != nil {
		t.Fatal(err)
	}
	res, err := svc.Ingest(ctx, bag("p", "h", pony.StatusPass, pony.StatusFail), aggregator.IngestOptions{IdempotencyKey: "spool"})
	if err != nil || res.Existed || res.Receipt.ResultKey != r.ResultKey {
		t.Fatalf("Ingest: got %+v, %v; want a new result under the run's key %s", res, err, r.ResultKey)
	}
	again, err := svc.Ingest(ctx, bag("p", "h", pony.StatusPass), aggregator.IngestOptions{IdempotencyKey: "spool"})
	if err != nil || !again.Existed || again.Receipt != res.Receipt {
		t.Errorf("Ingest again: got %+v, %v; want the first receipt, existed", again, err)
	}
	page, err := svc.Results(ctx, aggregator.ResultFilter{Package: "p"})
	if err != nil || len(page.Results) != 1 {
		t.Errorf("results: got %d, %v; want 1", len(page.Results), err)
	}
	// An ordinary key is untouched by runs.
	if res, err := svc.Ingest(ctx, bag("p", "h", pony.StatusPass), aggregator.IngestOptions{IdempotencyKey: "other"}); err != nil || res.Receipt.ResultKey == r.ResultKey {
		t.Errorf("Ingest with another key: got %+v, %v; want a result of its own", res, err)
	}
}
