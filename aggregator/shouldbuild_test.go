package aggregator_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pony-build/pony/aggregator"
)

func TestDecideBuild(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	env := aggregator.Env{Package: "p", Host: "h", Arch: "linux-amd64", Tags: []string{"py3"}}
	ok := &aggregator.ResultSummary{Received: now.Add(-time.Hour), Success: true}
	failed := &aggregator.ResultSummary{Received: now.Add(-time.Hour), Success: false}
	old := &aggregator.ResultSummary{Received: now.Add(-25 * time.Hour), Success: true}
	active := &aggregator.Reservation{Env: env, Until: now.Add(time.Minute)}
	expired := &aggregator.Reservation{Env: env, Until: now.Add(-time.Minute)}
	tests := []struct {
		name      string
		requested bool
		res       *aggregator.Reservation
		last      *aggregator.ResultSummary
		build     bool
		reason    aggregator.BuildReason
		message   string
	}{
		{"requested wins over a reservation", true, active, ok, true, aggregator.ReasonRequested, "build requested"},
		{"reserved", false, active, nil, false, aggregator.ReasonBuilding, "may be in build now"},
		{"expired reservation, nothing recorded", false, expired, nil, true, aggregator.ReasonNone, "no build recorded for __arch=linux-amd64, __host=h, __package=p, py3; build!"},
		{"a day old", false, nil, old, true, aggregator.ReasonStale, "last build was 25h0m0s ago; do build!"},
		{"last failed", false, nil, failed, true, aggregator.ReasonFailed, "last build was unsuccessful; go!"},
		{"up to date", false, nil, ok, false, aggregator.ReasonUpToDate, "build up to date"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := aggregator.DecideBuild(now, env, tc.requested, tc.res, tc.last, 24*time.Hour)
			if got.Build != tc.build || got.Reason != tc.reason || !strings.HasPrefix(got.Message, tc.message) {
				t.Errorf("got %v %s %q, want %v %s %q", got.Build, got.Reason, got.Message, tc.build, tc.reason, tc.message)
			}
		})
	}
}

func TestEnvKeyAndTagset(t *testing.T) {
	a := aggregator.Env{Package: "p", Host: "h", Arch: "a", Tags: []string{"b", "a", "b", " "}}
	b := aggregator.Env{Package: "p", Host: "h", Arch: "a", Tags: []string{"a", "b"}}
	if a.Key() != b.Key() {
		t.Errorf("keys differ for equal environments: %q vs %q", a.Key(), b.Key())
	}
	c := b
	c.Runtime = "go1.22"
	if c.Key() == b.Key() {
		t.Errorf("runtime not part of the key")
	}
	ts := c.Tagset()
	want := "__arch=a __host=h __package=p __runtime=go1.22 a b"
	if got := strings.Join(ts, " "); got != want {
		t.Errorf("Tagset: got %q, want %q", got, want)
	}
	if back := aggregator.EnvFromTagset(ts); back.Key() != c.Key() {
		t.Errorf("EnvFromTagset(Tagset()): got %+v, want %+v", back, c)
	}
	if !c.Matches(aggregator.Env{Host: "h", Tags: []string{"a"}}) || c.Matches(aggregator.Env{Tags: []string{"z"}}) {
		t.Errorf("Matches is wrong")
	}
}
