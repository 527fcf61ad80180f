package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/aggregator"
)

// flakyAnswer is GET /packages/{pkg}/flaky as a client reads it.
type flakyAnswer struct {
	Package string                 `json:"package"`
	State   string                 `json:"state"`
	Tests   []aggregator.FlakyTest `json:"tests"`
}

func (f *fixture) flaky(t *testing.T, target string) flakyAnswer {
	t.Helper()
	r := f.get(target)
	if r.Code != 200 {
		t.Fatalf("GET %s: got %d %s, want 200", target, r.Code, r.Body)
	}
	var a flakyAnswer
	r.json(t, &a)
	return a
}

func (a flakyAnswer) names() []string {
	var out []string
	for _, ft := range a.Tests {
		var envs []string
		for _, e := range ft.Environments {
			envs = append(envs, e.Env.Host+"="+e.Assessment.State)
		}
		out = append(out, ft.Name+" "+strings.Join(envs, ","))
	}
	return out
}

// ?state= lists the tests in other states than flaky, each with its
// environments in those states, and a test flaky by its flips alone has a
// first and a last flake: its earliest and latest flip.
func TestFlakyStates(t *testing.T) {
	f := newFixture(t, fixtureOpts{})
	t0 := time.Date(2025, 6, 1, 8, 0, 0, 0, time.UTC)
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Hour) }
	const pkg = "states"
	// h1, 12 results, each of its own commit: TestFlip alternates (flaky
	// by its flip rate alone), TestBroken fails the last three times,
	// TestRecovered was a retry flake in the first and passed eleven times
	// since, TestSteady passes.
	for i := range 12 {
		*f.now = at(i)
		flip := pass("s", "TestFlip")
		if i%2 == 1 {
			flip = fail("s", "TestFlip")
		}
		broken := pass("s", "TestBroken")
		if i >= 9 {
			broken = fail("s", "TestBroken")
		}
		tests := []pony.TestResult{flip, broken, pass("s", "TestSteady")}
		if i == 0 {
			tests = append(tests, pony.TestResult{Suite: "s", Name: "TestRecovered", Status: pony.StatusFail, Attempt: 1})
		}
		recovered := pass("s", "TestRecovered")
		if i == 0 {
			recovered.Attempt = 2
		}
		tests = append(tests, recovered)
		f.postBag(envBag(pkg, "h1", "go1.22", fmt.Sprintf("c%02d", i), tests...))
	}
	// h2, two results: every test is new there.
	for i := range 2 {
		*f.now = at(20 + i)
		f.postBag(envBag(pkg, "h2", "go1.22", fmt.Sprintf("d%02d", i),
			pass("s", "TestFlip"), pass("s", "TestBroken"), pass("s", "TestSteady"), pass("s", "TestRecovered")))
	}

	// The default: flaky, as before.
	a := f.flaky(t, "/api/v1/packages/"+pkg+"/flaky")
	if got, want := a.names(), []string{"TestFlip h1=flaky"}; a.State != "flaky" || !equalStrings(got, want) {
		t.Fatalf("default: got state %q, %q; want flaky, %q", a.State, got, want)
	}
	ft := a.Tests[0]
	as := ft.Environments[0].Assessment
	if !ft.FirstFlake.Equal(at(1)) || !ft.LastFlake.Equal(at(11)) || !as.FirstFlip.Equal(at(1)) || !as.LastFlip.Equal(at(11)) ||
		!as.FirstFlake.Equal(at(1)) || !as.LastFlake.Equal(at(11)) || as.Flips != 11 {
		t.Errorf("flaky by flips: got first/last flake %v..%v, flips %d %v..%v; want the flips of results 1 to 11, %v..%v",
			ft.FirstFlake, ft.LastFlake, as.Flips, as.FirstFlip, as.LastFlip, at(1), at(11))
	}
	if ft.EnvStates != (aggregator.StateCounts{Flaky: 1, New: 1}) || ft.FlipRate != 1 || ft.Flips != 11 || ft.Sample != 14 ||
		len(ft.Signals) == 0 || ft.Signals[0] != "flaky in 1, new in 1 of 2 environments" {
		t.Errorf("combined signals: got %+v %v flip rate %v, flips %d, sample %d; want flaky in 1, new in 1, 1, 11, 14", ft.EnvStates, ft.Signals, ft.FlipRate, ft.Flips, ft.Sample)
	}

	// Broken: failing steadily, not flaky.
	a = f.flaky(t, "/api/v1/packages/"+pkg+"/flaky?state=broken")
	if got, want := a.names(), []string{"TestBroken h1=broken"}; a.State != "broken" || !equalStrings(got, want) {
		t.Errorf("broken: got state %q, %q; want broken, %q", a.State, got, want)
	} else if ft := a.Tests[0]; ft.State != aggregator.StateBroken || ft.Score != 0 || ft.EnvStates.Broken != 1 {
		t.Errorf("broken: got %+v, want state broken, score 0", ft)
	}

	// Recovered: healthy, with when it began to pass cleanly.
	a = f.flaky(t, "/api/v1/packages/"+pkg+"/flaky?state=recovered")
	if got, want := a.names(), []string{"TestRecovered h1=healthy"}; !equalStrings(got, want) {
		t.Errorf("recovered: got %q, want %q", got, want)
	} else if as := a.Tests[0].Environments[0].Assessment; !as.Recovered || !as.RecoveredSince.Equal(at(0)) || !a.Tests[0].RecoveredSince.Equal(at(0)) ||
		a.Tests[0].EnvStates.Recovered != 1 {
		t.Errorf("recovered: got %+v, want recovered since %v", a.Tests[0], at(0))
	}

	a = f.flaky(t, "/api/v1/packages/"+pkg+"/flaky?state=new")
	if got, want := a.names(), []string{"TestFlip h2=new", "TestBroken h2=new", "TestRecovered h2=new", "TestSteady h2=new"}; !equalStrings(got, want) {
		t.Errorf("new: got %q, want %q", got, want)
	}
	a = f.flaky(t, "/api/v1/packages/"+pkg+"/flaky?state=broken,flaky")
	if got, want := a.names(), []string{"TestFlip h1=flaky", "TestBroken h1=broken"}; a.State != "flaky,broken" || !equalStrings(got, want) {
		t.Errorf("broken,flaky: got state %q, %q; want flaky,broken, %q", a.State, got, want)
	}
	a = f.flaky(t, "/api/v1/packages/"+pkg+"/flaky?state=all")
	if got, want := a.names(), []string{"TestFlip h1=flaky,h2=new", "TestBroken h1=broken,h2=new", "TestRecovered h1=healthy,h2=new", "TestSteady h1=healthy,h2=new"}; a.State != "all" || !equalStrings(got, want) {
		t.Errorf("all: got state %q, %q; want all, %q", a.State, got, want)
	}
	a = f.flaky(t, "/api/v1/packages/"+pkg+"/flaky?state=broken&branch=other")
	if len(a.Tests) != 0 {
		t.Errorf("another branch: got %q, want no test", a.names())
	}

	for _, bad := range []string{"bogus", "flaky,Broken", "failing"} {
		r := f.get("/api/v1/packages/" + pkg + "/flaky?state=" + bad)
		if msg := r.errorText(t); r.Code != 400 || !strings.Contains(msg, "state must be flaky, broken, new, healthy, recovered or all") {
			t.Errorf("state=%s: got %d %s, want 400 naming the states", bad, r.Code, r.Body)
		}
	}
	if r := f.get("/api/v1/packages/" + pkg + "/flaky?state=flaky&state=broken"); r.Code != 400 {
		t.Errorf("state twice: got %d %s, want 400", r.Code, r.Body)
	}
}
