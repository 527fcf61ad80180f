package web_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pony-build/pony"
)

// flakySections splits a flaky page into its sections by id.
func flakySections(body string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(body, `<section class="flaky-section" id="`)[1:] {
		id, rest, _ := strings.Cut(part, `"`)
		rest, _, _ = strings.Cut(rest, "</section>")
		out[id] = rest
	}
	return out
}

// The flaky page shows the broken tests (failing steadily: not flaky)
// beside the flaky ranking, links to the other states without a script,
// and a test flaky by its flips alone with its first and last flake.
func TestFlakyPageStates(t *testing.T) {
	f := newFixture(t)
	// 12 results, each of its own commit, a minute apart (10:01 to 10:12):
	// TestFlip alternates, TestBroken fails the last three, TestRecovered
	// was a retry flake in the first and passed since, TestSteady passes.
	for i := range 12 {
		flip, broken := pony.StatusPass, pony.StatusPass
		if i%2 == 1 {
			flip = pony.StatusFail
		}
		if i >= 9 {
			broken = pony.StatusFail
		}
		tests := []pony.TestResult{{Suite: "s", Name: "TestFlip", Status: flip}, {Suite: "s", Name: "TestBroken", Status: broken},
			{Suite: "s", Name: "TestSteady", Status: pony.StatusPass}}
		if i == 0 {
			tests = append(tests, pony.TestResult{Suite: "s", Name: "TestRecovered", Status: pony.StatusFail, Attempt: 1},
				pony.TestResult{Suite: "s", Name: "TestRecovered", Status: pony.StatusPass, Attempt: 2})
		} else {
			tests = append(tests, pony.TestResult{Suite: "s", Name: "TestRecovered", Status: pony.StatusPass})
		}
		ci := pony.ClientInfo{Package: "fp", Host: "h1", Arch: "linux-amd64", Branch: "main", Commit: fmt.Sprintf("c%02d", i)}
		f.ingest(&pony.Bag{ClientInfo: ci, Steps: []pony.Step{{Type: "test", Name: "go test", Tests: tests}}})
	}

	rec := f.get("/p/fp/flaky")
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /p/fp/flaky: got %d, want 200\n%s", rec.Code, body)
	}
	secs := flakySections(body)
	if len(secs) != 2 || secs["flaky"] == "" || secs["broken"] == "" {
		t.Fatalf("default: got sections %v, want flaky and broken", sectionIDs(secs))
	}
	flaky, broken := secs["flaky"], secs["broken"]
	for _, want := range []string{">TestFlip<", "1 test, the flakiest first", "11 flips: first", `title="2026-11-22 10:02:00Z"`, `title="2026-11-22 10:12:00Z"`, "flaky in 1 of 1 environment"} {
		if !strings.Contains(flaky, want) {
			t.Errorf("flaky section: got no %q:\n%s", want, flaky)
		}
	}
	for _, want := range []string{"Broken: failing steadily, not flaky", ">TestBroken<", "broken: the last 3 verdicts failed"} {
		if !strings.Contains(broken, want) {
			t.Errorf("broken section: got no %q:\n%s", want, broken)
		}
	}
	if strings.Contains(flaky, ">TestBroken<") || strings.Contains(broken, ">TestFlip<") || strings.Contains(body, ">TestSteady<") || strings.Contains(body, ">TestRecovered<") {
		t.Errorf("default: got a test outside its section:\n%s", body)
	}
	for _, want := range []string{
		`<a href="/p/fp/flaky" aria-current="true">flaky and broken</a>`,
		`<a href="/p/fp/flaky?state=broken">broken</a>`,
		`<a href="/p/fp/flaky?state=recovered">recovered</a>`,
		`<a href="/p/fp/flaky?state=all">all</a>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("default: got no link %s", want)
		}
	}

	// Recovered: clean since its retry flake, at 10:01.
	body = f.get("/p/fp/flaky?state=recovered&branch=main").Body.String()
	secs = flakySections(body)
	if len(secs) != 1 || !strings.Contains(secs["recovered"], ">TestRecovered<") || !strings.Contains(secs["recovered"], `recovered, clean since <span title="2026-11-22 10:01:00Z">`) {
		t.Errorf("recovered: got sections %v, want TestRecovered, clean since 10:01:\n%s", sectionIDs(secs), body)
	}
	if want := `<a href="/p/fp/flaky?branch=main&amp;state=recovered" aria-current="true">recovered</a>`; !strings.Contains(body, want) {
		t.Errorf("recovered: got no current link %s", want)
	}

	// All: a section per state, TestRecovered among the healthy.
	secs = flakySections(f.get("/p/fp/flaky?state=all").Body.String())
	if len(secs) != 4 || !strings.Contains(secs["healthy"], ">TestSteady<") || !strings.Contains(secs["healthy"], ">TestRecovered<") || !strings.Contains(secs["new"], "No new test") {
		t.Errorf("all: got sections %v, want flaky, broken, new (empty), healthy with TestSteady and TestRecovered", sectionIDs(secs))
	}

	rec = f.get("/p/fp/flaky?state=bogus")
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "state must be flaky, broken, new, healthy, recovered or all") {
		t.Errorf("state=bogus: got %d, want 400 naming the states\n%s", rec.Code, rec.Body)
	}
}

func sectionIDs(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
