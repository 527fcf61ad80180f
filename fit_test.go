package pony_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/pony-build/pony"
)

func TestFitName(t *testing.T) {
	const max = 1024
	if got := pony.FitName("TestShort", max); got != "TestShort" {
		t.Errorf("short name: got %q, want it unchanged", got)
	}
	exact := strings.Repeat("x", max)
	if got := pony.FitName(exact, max); got != exact {
		t.Errorf("name of exactly %d bytes: got %d bytes, want it unchanged", max, len(got))
	}
	prefix := "TestLong/" + strings.Repeat("case_with_a_long_description_", 40) // over 1024 bytes
	a, b := prefix+"a", prefix+"b"
	fa, fb := pony.FitName(a, max), pony.FitName(b, max)
	if len(fa) > max || len(fb) > max {
		t.Errorf("got %d and %d bytes, want at most %d", len(fa), len(fb), max)
	}
	if fa == fb {
		t.Errorf("two names sharing their first %d bytes: got the same cut name %q, want them kept apart", len(prefix), fa)
	}
	if again := pony.FitName(a, max); again != fa {
		t.Errorf("same name twice: got %q then %q, want the same cut name", fa, again)
	}
	if pony.FitName(fa, max) != fa {
		t.Errorf("a cut name cut again: got a change, want it unchanged")
	}
	if !strings.HasPrefix(fa, prefix[:max-30]) {
		t.Errorf("got %q, want it to start as the whole name does", fa[:40])
	}
	// A cut never splits a rune.
	wide := strings.Repeat("é", 600) // 1,200 bytes
	for m := 1000; m < 1010; m++ {
		if got := pony.FitName(wide, m); !utf8.ValidString(got) || len(got) > m {
			t.Errorf("max %d: got %d bytes, valid UTF-8 %v; want at most %d, valid", m, len(got), utf8.ValidString(got), m)
		}
	}
	if got := pony.FitName(a, 8); len(got) != 8 {
		t.Errorf("max 8: got %q, want 8 bytes of the hash", got)
	}
}

// longBag is a bag with every field Fit cuts over DefaultLimits.
func longBag() *pony.Bag {
	lim := pony.DefaultLimits
	long := func(s string, n int) string { return s + strings.Repeat("x", n-len(s)) }
	tags := make([]string, lim.Tags+5)
	for i := range tags {
		tags[i] = "t" + strconv.Itoa(i)
	}
	tags[0] = long("tag", lim.Name+1)
	return &pony.Bag{
		ClientInfo: pony.ClientInfo{
			Package: "pony", Host: long("host", 2000), Branch: long("topic/", 1500), Tags: tags,
			BuildURL: long("https://ci.example/", lim.Text+1),
		},
		Steps: []pony.Step{{
			Type: "test", Name: long("go test -run ", 3000), Command: long("go test -json -run ", lim.Text+10),
			Output: strings.Repeat("o", lim.StepOutput+1) + "\nok\n", Format: "gotest",
			Tests: []pony.TestResult{
				{Suite: "example.com/m", Name: long("TestLong/", 1509), Status: pony.StatusPass,
					Properties: map[string]string{long("key", lim.Name+1): long("v", lim.Text+1)}},
				{Suite: long("example.com/", 1100), Name: "TestA", Status: pony.StatusFail,
					Message: strings.Repeat("m", lim.Text+1), Output: strings.Repeat("f", lim.Output+1) + "FAIL\n",
					File: long("a/", lim.Text+1)},
			},
		}},
	}
}

func TestFitMakesTheBagValid(t *testing.T) {
	lim := pony.DefaultLimits
	b := longBag()
	if err := b.Validate(lim); err == nil {
		t.Fatal("the long bag: got valid before Fit, want it over the limits")
	}
	name := b.Steps[0].Tests[0].Name
	shared := b.Steps[0] // a copy handed elsewhere (a live report) before Fit
	cuts := b.Fit(lim)
	if err := b.Validate(lim); err != nil {
		t.Fatalf("after Fit: got %v, want a valid bag", err)
	}
	if shared.Tests[0].Name != name {
		t.Errorf("Fit wrote into the tests of a copy of the step, want them left as they were")
	}
	got := map[string]pony.Kept{}
	for _, c := range cuts {
		got[c.Field] = c.Kept
	}
	want := map[string]pony.Kept{
		"client_info.host": pony.KeptStart, "client_info.branch": pony.KeptStart, "client_info.build_url": pony.KeptStart,
		"client_info.tags": pony.KeptFirst, "client_info.tags[0]": pony.KeptStart,
		"results_list[0].name": pony.KeptStart, "results_list[0].command": pony.KeptStart, "results_list[0].output": pony.KeptTail,
		"results_list[0].tests[0].name": pony.KeptStart, "results_list[0].tests[1].suite": pony.KeptStart,
		"results_list[0].tests[1].message": pony.KeptTail, "results_list[0].tests[1].output": pony.KeptTail,
		"results_list[0].tests[1].file": pony.KeptStart,
	}
	for f, k := range want {
		if g, ok := got[f]; !ok || g != k {
			t.Errorf("cut of %s: got %v (cut: %v), want kept %v", f, g, ok, k)
		}
	}
	if n := len(b.ClientInfo.Tags); n != lim.Tags {
		t.Errorf("tags: got %d, want the first %d", n, lim.Tags)
	}
	st := &b.Steps[0]
	if !strings.HasSuffix(st.Output, "\nok\n[pony: this step's name was 3000 bytes, cut to the limit of 1024: its start and a hash of the whole are kept]\n"+
		"[pony: this step's command was 65546 bytes, cut to the limit of 65536: its start and a hash of the whole are kept]\n") {
		t.Errorf("step output: got …%q, want a line for the cut name and one for the cut command, at the end", st.Output[max(0, len(st.Output)-300):])
	}
	t0 := st.Tests[0]
	if t0.Name != pony.FitName(name, lim.Name) {
		t.Errorf("test name: got %q, want FitName's", t0.Name)
	}
	if t0.Properties[pony.PropNameBytes] != "1509" || t0.Properties[pony.PropFullName] != name {
		t.Errorf("test properties: got %s=%q and the full name %v, want 1509 and the full name",
			pony.PropNameBytes, t0.Properties[pony.PropNameBytes], t0.Properties[pony.PropFullName] == name)
	}
	if t1 := st.Tests[1]; t1.Properties[pony.PropSuiteBytes] != "1100" || !strings.HasSuffix(t1.Output, "FAIL\n") {
		t.Errorf("second test: got suite bytes %q and output ending %q, want 1100 and the tail kept",
			t1.Properties[pony.PropSuiteBytes], t1.Output[len(t1.Output)-10:])
	}
	if again := b.Fit(lim); len(again) != 0 {
		t.Errorf("second Fit: got %d cuts, want none", len(again))
	}
}

func TestFitLeavesWhatCannotBeCut(t *testing.T) {
	lim := pony.Limits{Name: 16, Steps: 1, Tests: 1}
	b := &pony.Bag{
		ClientInfo: pony.ClientInfo{Package: "pony", Host: "a\nb"},
		Steps: []pony.Step{
			{Type: "test", Name: "s", Tests: []pony.TestResult{{Name: "A", Status: "ok"}, {Name: "", Status: pony.StatusPass}}},
			{Type: "test", Name: "t"},
		},
	}
	if cuts := b.Fit(lim); len(cuts) != 0 {
		t.Errorf("got cuts %+v, want none", cuts)
	}
	err := b.Validate(lim)
	var ve *pony.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a ValidationError", err)
	}
	for _, w := range []string{"client_info.host: holds a control character", "results_list: has 2 steps", "results_list[0].tests: has 2 entries",
		"results_list[0].tests[0].status: unknown status", "results_list[0].tests[1].name: is required"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("got %v, want it to hold %q", err, w)
		}
	}
}
