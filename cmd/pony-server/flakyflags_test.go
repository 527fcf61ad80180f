package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// TestFlakyFlags: the flakiness flags reach the ranking. A test that
// passed, passed and failed in one environment has flipped once in three
// verdicts (a flip rate of 0.5): under the default minimum sample of 5 it
// is new; with --flaky-min-sample 3 it is flaky, and counted so on the
// scoreboard's package list; with --flaky-threshold 0.6 too, it is not.
func TestFlakyFlags(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	flaky := func(args ...string) (ranked, counted int) {
		t.Helper()
		srv := startServer(t, append([]string{"--db", filepath.Join(t.TempDir(), "pony.db")}, args...)...)
		for i, st := range []pony.Status{pony.StatusPass, pony.StatusPass, pony.StatusFail} {
			bag := &pony.Bag{
				ClientInfo: pony.ClientInfo{Package: "ff", Host: "h", Arch: "amd64", Runtime: "go1.22", Branch: "main", Commit: string(rune('a' + i))},
				Steps:      []pony.Step{{Type: "test", Name: "t", Status: 0, Tests: []pony.TestResult{{Suite: "s", Name: "TestFlip", Status: st}, {Suite: "s", Name: "TestOK", Status: pony.StatusPass}}}},
			}
			if code, body, err := postBag(ctx, srv.URL, bag, randomHex(16), ""); err != nil || code != 201 {
				t.Fatalf("post: %d %s %v", code, body, err)
			}
		}
		var fl struct {
			Tests []struct{ Name string } `json:"tests"`
		}
		getJSON(t, srv.URL+"/api/v1/packages/ff/flaky", "", 200, &fl)
		var pkgs []aggregator.PackageSummary
		getPackages(t, srv.URL, "", &pkgs)
		for _, p := range pkgs {
			if p.Name == "ff" {
				counted = p.Flaky
			}
		}
		return len(fl.Tests), counted
	}
	if r, c := flaky(); r != 0 || c != 0 {
		t.Errorf("defaults: %d ranked, %d counted, want none (3 verdicts, under the minimum sample)", r, c)
	}
	if r, c := flaky("--flaky-min-sample", "3"); r != 1 || c != 1 {
		t.Errorf("--flaky-min-sample 3: %d ranked, %d counted, want TestFlip", r, c)
	}
	if r, c := flaky("--flaky-min-sample", "3", "--flaky-threshold", "0.6"); r != 0 || c != 0 {
		t.Errorf("--flaky-threshold 0.6: %d ranked, %d counted, want none", r, c)
	}
}
