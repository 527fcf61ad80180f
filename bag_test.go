package pony_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/pony-build/pony"
)

func TestBagRoundTripKeepsUnknownKeys(t *testing.T) {
	in := `{"client_info":{"package":"gin","host":"ci-3","tags":["go1.22","nightly"],"python_version":"3.12",` +
		`"nested":{"a":[1,2,{"b":null}]},"success":false},` +
		`"results_list":[{"type":"test","name":"go test","status":1,"custom_step_key":"kept",` +
		`"totals":{"tests":999},"tests":[{"name":"TestA","status":"fail","attempt":1},{"name":"TestA","status":"pass","attempt":2}]}],` +
		`"receipt":{"result_key":"k1","time":"2026-11-22T10:00:00Z"}}`
	var b pony.Bag
	if err := json.Unmarshal([]byte(in), &b); err != nil {
		t.Fatal(err)
	}
	if got := string(b.ClientInfo.Extra["python_version"]); got != `"3.12"` {
		t.Errorf("python_version: got %s, want %q", got, `"3.12"`)
	}
	if _, ok := b.Steps[0].Extra["totals"]; ok {
		t.Errorf("totals kept as an extra key; want it recomputed")
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var again pony.Bag
	if err := json.Unmarshal(out, &again); err != nil {
		t.Fatalf("re-read %s: %v", out, err)
	}
	for _, k := range []string{"python_version", "nested"} {
		if got, want := string(again.ClientInfo.Extra[k]), string(b.ClientInfo.Extra[k]); got != want {
			t.Errorf("client_info[%s]: got %s, want %s", k, got, want)
		}
	}
	if got := string(again.Steps[0].Extra["custom_step_key"]); got != `"kept"` {
		t.Errorf("custom_step_key: got %s, want \"kept\"", got)
	}
	if !strings.Contains(string(out), `"totals":{"tests":1,"pass":1,`) {
		t.Errorf("totals not recomputed from the tests: %s", out)
	}
	if again.Success() {
		t.Errorf("Success: got true, want false (sent by the client)")
	}
}

func TestStatusRejectsUnknown(t *testing.T) {
	var b pony.Bag
	err := json.Unmarshal([]byte(`{"client_info":{"package":"p"},"results_list":[{"tests":[{"name":"a","status":"passed"}]}]}`), &b)
	if err == nil || !strings.Contains(err.Error(), `unknown test status "passed"`) {
		t.Errorf("got %v, want an unknown test status error", err)
	}
}

func TestTotalsLastAttemptWins(t *testing.T) {
	s := pony.Step{Tests: []pony.TestResult{
		{Name: "flaky", Status: pony.StatusFail, Attempt: 1},
		{Name: "flaky", Status: pony.StatusPass, Attempt: 2},
		{Name: "broken", Status: pony.StatusPass, Attempt: 1},
		{Name: "broken", Status: pony.StatusError, Attempt: 2},
		{Suite: "other", Name: "flaky", Status: pony.StatusSkip},
		{Name: "todo", Status: pony.StatusXFail},
		{Name: "lucky", Status: pony.StatusXPass},
		// An out-of-order rerun: attempt 2 listed before attempt 1.
		{Name: "ooo", Status: pony.StatusPass, Attempt: 2},
		{Name: "ooo", Status: pony.StatusFail, Attempt: 1},
	}}
	got := s.Totals()
	want := pony.Totals{Tests: 6, Pass: 2, Error: 1, Skip: 1, XFail: 1, XPass: 1, Flaky: 2, Attempts: 9}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if s.Succeeded() {
		t.Errorf("Succeeded: got true, want false (broken errored on its last attempt)")
	}
}

func TestSuccessComputed(t *testing.T) {
	tests := []struct {
		name string
		step pony.Step
		want bool
	}{
		{"all pass", pony.Step{Tests: []pony.TestResult{{Name: "a", Status: pony.StatusPass}}}, true},
		{"exit code", pony.Step{Status: 2}, false},
		{"incomplete", pony.Step{Incomplete: true}, false},
		{"xfail is fine", pony.Step{Tests: []pony.TestResult{{Name: "a", Status: pony.StatusXFail}}}, true},
		{"retried to green", pony.Step{Tests: []pony.TestResult{{Name: "a", Status: pony.StatusFail, Attempt: 1}, {Name: "a", Status: pony.StatusPass, Attempt: 2}}}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := pony.Bag{ClientInfo: pony.ClientInfo{Package: "p"}, Steps: []pony.Step{tc.step}}
			if got := b.Success(); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	lim := pony.Limits{Name: 10, Output: 5}
	b := pony.Bag{
		ClientInfo: pony.ClientInfo{Tags: []string{"ok", ""}, Duration: math.NaN()},
		Steps: []pony.Step{{Tests: []pony.TestResult{
			{Name: "fine", Status: pony.StatusPass},
			{Name: "", Status: "weird", Attempt: -1, Output: "too long"},
			{Name: "a name far too long", Status: pony.StatusPass},
		}}},
	}
	err := b.Validate(lim)
	var ve *pony.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got %v, want a *ValidationError", err)
	}
	for _, want := range []string{
		"client_info.package: is required",
		"client_info.tags[1]: is empty",
		"client_info.duration: must be a finite number",
		"results_list[0].tests[1].name: is required",
		`results_list[0].tests[1].status: unknown status "weird"`,
		"results_list[0].tests[1].attempt: must be ≥ 1, got -1",
		"results_list[0].tests[1].output: is 8 bytes, over the limit of 5",
		"results_list[0].tests[2].name: is 19 bytes, over the limit of 10",
	} {
		if !strings.Contains(err.Error(), want) && !containsProblem(ve.Problems, want) {
			t.Errorf("missing problem %q in %v", want, ve.Problems)
		}
	}
	good := pony.Bag{ClientInfo: pony.ClientInfo{Package: "p"}, Steps: []pony.Step{{Tests: []pony.TestResult{{Name: "a", Status: pony.StatusPass}}}}}
	if err := good.Validate(pony.DefaultLimits); err != nil {
		t.Errorf("good bag: got %v, want nil", err)
	}
}

func containsProblem(ps []string, want string) bool {
	for _, p := range ps {
		if strings.HasPrefix(p, want) {
			return true
		}
	}
	return false
}

func TestBagDuration(t *testing.T) {
	b := pony.Bag{Steps: []pony.Step{{Duration: 1.5}, {Duration: 2}}}
	if got := b.Duration(); got != 3.5 {
		t.Errorf("from the steps: got %v, want 3.5", got)
	}
	b.ClientInfo.Duration = 10
	if got := b.Duration(); got != 10 {
		t.Errorf("the client's own: got %v, want 10", got)
	}
}
