package aggregator_test

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
	"github.com/pony-build/pony/aggregator/gormstore"
)

// newService returns a Service over a real SQLite store in a temporary
// directory, with a clock the test moves.
func newService(t *testing.T, opts aggregator.Options) (*aggregator.Service, *clock) {
	t.Helper()
	ctx := context.Background()
	st, err := gormstore.Open(ctx, filepath.Join(t.TempDir(), "pony.db"), gormstore.Options{Migrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &clock{t: time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)}
	opts.Now = c.Now
	return aggregator.New(st, opts), c
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func bag(pkg, host string, statuses ...pony.Status) *pony.Bag {
	b := &pony.Bag{ClientInfo: pony.ClientInfo{Package: pkg, Host: host, Arch: "linux-amd64", Tags: []string{"nightly"}}}
	st := pony.Step{Type: "test", Name: "go test", Format: "gotest"}
	for i, s := range statuses {
		st.Tests = append(st.Tests, pony.TestResult{Suite: "s", Name: "T" + string(rune('A'+i)), Status: s, Output: "chatter", Message: "m"})
	}
	b.Steps = []pony.Step{st}
	return b
}

func TestIngestStoresWhatHelps(t *testing.T) {
	svc, _ := newService(t, aggregator.Options{})
	ctx := context.Background()
	res, err := svc.Ingest(ctx, bag("p", "h", pony.StatusPass, pony.StatusFail), aggregator.IngestOptions{ClientIP: "10.0.0.7"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Existed || res.AuthKey == "" || res.Receipt.ClientIP != "10.0.0.7" {
		t.Errorf("got %+v, want a new result with an auth key and the client IP", res)
	}
	got, err := svc.Result(ctx, res.Receipt.ResultKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := got.Steps[0].Tests
	if tests[0].Output != "" {
		t.Errorf("a passing test's output was stored: %q", tests[0].Output)
	}
	if tests[1].Output != "chatter" {
		t.Errorf("a failing test's output: got %q, want %q", tests[1].Output, "chatter")
	}
	if got.Receipt == nil || got.Receipt.ResultKey != res.Receipt.ResultKey {
		t.Errorf("receipt: got %+v, want key %s", got.Receipt, res.Receipt.ResultKey)
	}
}

func TestIngestIdempotent(t *testing.T) {
	svc, _ := newService(t, aggregator.Options{})
	ctx := context.Background()
	first, err := svc.Ingest(ctx, bag("p", "h", pony.StatusPass), aggregator.IngestOptions{IdempotencyKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := svc.Ingest(ctx, bag("p", "h", pony.StatusPass), aggregator.IngestOptions{IdempotencyKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Existed || again.Receipt.ResultKey != first.Receipt.ResultKey || again.AuthKey != "" {
		t.Errorf("replay: got %+v, want the first receipt %s, existed, no auth key", again, first.Receipt.ResultKey)
	}
	page, err := svc.Results(ctx, aggregator.ResultFilter{Package: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Results) != 1 {
		t.Errorf("stored %d results, want 1", len(page.Results))
	}
}

func TestIngestRefusals(t *testing.T) {
	svc, _ := newService(t, aggregator.Options{Limits: pony.Limits{Name: 20, Output: 10, Text: 100}})
	ctx := context.Background()
	tests := []struct {
		name string
		bag  *pony.Bag
		key  string
		code aggregator.Code
		msg  string
	}{
		{"no package", bag("", "h", pony.StatusPass), "", aggregator.EInvalid, "client_info.package: is required"},
		{"name over its cap", bag("a-package-name-far-too-long", "h"), "", aggregator.ETooLarge, "over the limit of 20"},
		{"idempotency key too long", bag("p", "h"), strings.Repeat("k", 300), aggregator.ETooLarge, "Idempotency-Key is 300 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := svc.Ingest(ctx, tc.bag, aggregator.IngestOptions{IdempotencyKey: tc.key})
			if got := aggregator.ErrorCode(err); got != tc.code || !strings.Contains(aggregator.ErrorMessage(err), tc.msg) {
				t.Errorf("got %s %v, want %s with %q", got, err, tc.code, tc.msg)
			}
		})
	}
	// Output over its cap is cut, tail kept, not refused.
	b := bag("p", "h", pony.StatusFail)
	b.Steps[0].Tests[0].Output = "0123456789VERDICT"
	res, err := svc.Ingest(ctx, b, aggregator.IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := svc.Result(ctx, res.Receipt.ResultKey)
	if out := got.Steps[0].Tests[0].Output; !strings.HasSuffix(out, "T") || len(out) > 10 {
		t.Errorf("capped output: got %q, want at most 10 bytes ending with the tail", out)
	}
}

func TestAuthorize(t *testing.T) {
	ctx := context.Background()
	for _, private := range []bool{false, true} {
		svc, _ := newService(t, aggregator.Options{PrivateReads: private})
		if err := svc.Authorize(ctx, "", "p", aggregator.ScopeWrite); err != nil {
			t.Errorf("open server refused a write: %v", err)
		}
		write, _, err := svc.CreateToken(ctx, "p", aggregator.ScopeWrite, "ci")
		if err != nil {
			t.Fatal(err)
		}
		read, _, _ := svc.CreateToken(ctx, "p", aggregator.ScopeRead, "")
		all, _, _ := svc.CreateToken(ctx, "*", aggregator.ScopeWrite, "")
		readWhenPrivate := aggregator.Code("")
		if private {
			readWhenPrivate = aggregator.EUnauthorized
		}
		tests := []struct {
			secret, pkg string
			scope       aggregator.Scope
			want        aggregator.Code
		}{
			{"", "p", aggregator.ScopeWrite, aggregator.EUnauthorized},
			{"pony_nonsense", "p", aggregator.ScopeWrite, aggregator.EUnauthorized},
			{write, "p", aggregator.ScopeWrite, ""},
			{write, "q", aggregator.ScopeWrite, aggregator.EForbidden},
			{read, "p", aggregator.ScopeWrite, aggregator.EForbidden},
			{read, "p", aggregator.ScopeRead, ""},
			{"pony_nonsense", "p", aggregator.ScopeRead, aggregator.EUnauthorized},
			{all, "q", aggregator.ScopeWrite, ""},
			{"", "p", aggregator.ScopeRead, readWhenPrivate},
		}
		for _, tc := range tests {
			if got := aggregator.ErrorCode(svc.Authorize(ctx, tc.secret, tc.pkg, tc.scope)); got != tc.want {
				t.Errorf("private=%v Authorize(%.10s…, %s, %s): got %q, want %q", private, tc.secret, tc.pkg, tc.scope, got, tc.want)
			}
		}
	}
	svc, _ := newService(t, aggregator.Options{})
	if _, _, err := svc.CreateToken(ctx, "p", "admin", ""); aggregator.ErrorCode(err) != aggregator.EInvalid {
		t.Errorf("scope admin: got %v, want invalid", err)
	}
}

func TestShouldBuildReservesAndExpires(t *testing.T) {
	svc, clk := newService(t, aggregator.Options{})
	ctx := context.Background()
	env := aggregator.NewEnv(bag("p", "h").ClientInfo)
	ask := func(reserve bool) aggregator.BuildAnswer {
		t.Helper()
		a, err := svc.ShouldBuild(ctx, aggregator.BuildRequest{Env: env, Reserve: reserve, Allowance: 10 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	if a := ask(true); !a.Build || a.Reason != aggregator.ReasonNone {
		t.Fatalf("first ask: got %+v, want build (none recorded)", a)
	}
	if a := ask(false); a.Build || a.Reason != aggregator.ReasonBuilding {
		t.Errorf("while reserved: got %+v, want no build (building)", a)
	}
	clk.Add(11 * time.Minute)
	if _, err := svc.Ingest(ctx, bag("p", "h", pony.StatusPass), aggregator.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if a := ask(false); a.Build || a.Reason != aggregator.ReasonUpToDate {
		t.Errorf("after a passing result: got %+v, want up to date", a)
	}
	if err := svc.RequestBuild(ctx, env); err != nil {
		t.Fatal(err)
	}
	if a := ask(false); !a.Build || a.Reason != aggregator.ReasonRequested {
		t.Errorf("requested: got %+v, want build (requested)", a)
	}
	if a := ask(false); a.Reason != aggregator.ReasonUpToDate {
		t.Errorf("a request is taken once: got %+v, want up to date", a)
	}
	clk.Add(25 * time.Hour)
	if a := ask(false); !a.Build || a.Reason != aggregator.ReasonStale {
		t.Errorf("a day later: got %+v, want build (stale)", a)
	}
	if _, err := svc.Ingest(ctx, bag("p", "h", pony.StatusFail), aggregator.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if a := ask(false); !a.Build || a.Reason != aggregator.ReasonFailed {
		t.Errorf("after a failure: got %+v, want build (failed)", a)
	}
}

func TestLatestAndLastForEnv(t *testing.T) {
	svc, clk := newService(t, aggregator.Options{})
	ctx := context.Background()
	var keys []string
	for _, host := range []string{"a", "b", "a"} {
		clk.Add(time.Minute)
		r, err := svc.Ingest(ctx, bag("p", host, pony.StatusPass), aggregator.IngestOptions{})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, r.Receipt.ResultKey)
	}
	latest, err := svc.Latest(ctx, aggregator.ResultFilter{Package: "p", Host: "b"})
	if err != nil || latest.Receipt.ResultKey != keys[1] {
		t.Errorf("Latest host=b: got %v %v, want %s", latest, err, keys[1])
	}
	env := aggregator.NewEnv(bag("p", "a").ClientInfo)
	last, err := svc.LastForEnv(ctx, env)
	if err != nil || last.Receipt.ResultKey != keys[2] {
		t.Errorf("LastForEnv host=a: got %v %v, want %s", last, err, keys[2])
	}
	env.Host = "nowhere"
	if _, err := svc.LastForEnv(ctx, env); aggregator.ErrorCode(err) != aggregator.ENotFound {
		t.Errorf("unknown env: got %v, want not found", err)
	}
	if _, err := svc.Result(ctx, "nope"); !errors.Is(err, err) || aggregator.ErrorCode(err) != aggregator.ENotFound {
		t.Errorf("unknown key: got %v, want not found", err)
	}
	ts, err := svc.Tagsets(ctx, "p")
	if err != nil || len(ts) != 2 {
		t.Fatalf("Tagsets: got %d (%v), want 2", len(ts), err)
	}
	clk.Add(48 * time.Hour)
	ts, _ = svc.Tagsets(ctx, "p")
	for _, x := range ts {
		if !x.Stale {
			t.Errorf("tagset %s not stale after two days", x.Env.Host)
		}
	}
}

// TestPackagesFlakyAndExpected: a package's flaky count is what Flaky
// lists (here a test that flaked by a retry two results ago, none in the
// latest result), its retry flakes those of its latest results; a package
// that expects environments but never reported is listed with them all
// missing, and a reporting one with each expected environment's status.
func TestPackagesFlakyAndExpected(t *testing.T) {
	ctx := context.Background()
	svc, clk := newService(t, aggregator.Options{})
	flake := bag("p", "h1", pony.StatusPass, pony.StatusPass)
	flake.Steps[0].Tests = append([]pony.TestResult{{Suite: "s", Name: "TA", Status: pony.StatusFail, Attempt: 1}}, flake.Steps[0].Tests...)
	flake.Steps[0].Tests[1].Attempt = 2
	for i, b := range []*pony.Bag{flake, bag("p", "h1", pony.StatusPass, pony.StatusPass), bag("p", "h2", pony.StatusPass, pony.StatusPass)} {
		if _, err := svc.Ingest(ctx, b, aggregator.IngestOptions{}); err != nil {
			t.Fatalf("ingest %d: %v", i, err)
		}
		clk.Add(time.Minute)
	}
	if err := svc.SetExpected(ctx, "p", []aggregator.ExpectedEnv{{Name: "h1", Match: aggregator.Env{Host: "h1"}, Interval: time.Hour}, {Name: "win", Match: aggregator.Env{Host: "win"}}}); err != nil {
		t.Fatal(err)
	}
	if err := svc.SetExpected(ctx, "quiet", []aggregator.ExpectedEnv{{Name: "nightly", Match: aggregator.Env{Tags: []string{"nightly"}}}}); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Hour)
	pkgs, err := svc.Packages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2 || pkgs[0].Name != "p" || pkgs[1].Name != "quiet" {
		t.Fatalf("got packages %+v, want p and quiet", pkgs)
	}
	ranked, err := svc.Flaky(ctx, "p", "")
	if err != nil {
		t.Fatal(err)
	}
	p := pkgs[0]
	if p.Flaky != 1 || len(ranked) != 1 || p.RetryFlakes != 0 || p.Results != 3 || len(p.Environments) != 2 {
		t.Errorf("p: got %d flaky (the ranking lists %d), %d retry flakes, %d results in %d environments; want 1 flaky as ranked, 0 retry flakes, 3 results in 2",
			p.Flaky, len(ranked), p.RetryFlakes, p.Results, len(p.Environments))
	}
	if len(p.Expected) != 2 || !p.Expected[0].Missing || !strings.HasPrefix(p.Expected[0].Reason, "last reported 2h") ||
		!p.Expected[1].Missing || p.Expected[1].Reason != "never reported" {
		t.Errorf("p: got expected %+v, want h1 gone quiet 2h ago and win never reported", p.Expected)
	}
	q := pkgs[1]
	if q.Results != 0 || q.Environments == nil || len(q.Environments) != 0 || !q.LastReceived.IsZero() || q.Flaky != 0 ||
		len(q.Expected) != 1 || !q.Expected[0].Missing || q.Expected[0].Reason != "never reported" || q.Expected[0].Expected.Name != "nightly" {
		t.Errorf("quiet: got %+v, want no results, an empty environment list and nightly never reported", q)
	}
}
