package reporters_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/reporters"
)

// TestJUnitStepRuntime: a Surefire report's java.version becomes the
// step's runtime key; a value that is not a version is left out.
func TestJUnitStepRuntime(t *testing.T) {
	cases := []struct{ version, want string }{
		{"17.0.9", "java17.0.9"},
		{"1.8.0_392", "java1.8.0_392"},
		{"21-ea+35", "java21-ea+35"},
		{"", ""},
		{"seventeen", ""},
		{"17 &lt;script&gt;", ""},
		{strings.Repeat("1", 65), ""},
	}
	for _, c := range cases {
		in := `<testsuite name="a"><properties><property name="java.version" value="` + c.version + `"/></properties><testcase name="t"/></testsuite>`
		st, err := reporters.Parse(context.Background(), "junit", strings.NewReader(in), reporters.Options{File: "r.xml"})
		if err != nil {
			t.Fatal(err)
		}
		name, got := reporters.StepRuntime(st)
		if got != c.want {
			t.Errorf("java.version %q: runtime %q, want %q", c.version, got, c.want)
		}
		if got != "" && name != "java" {
			t.Errorf("java.version %q: name %q, want java", c.version, name)
		}
		if _, ok := st.Extra[reporters.StepRuntimeKey]; ok != (c.want != "") {
			t.Errorf("java.version %q: step keys %v", c.version, st.Extra)
		}
	}
}

// TestStepRuntimeReads checks StepRuntime on keys as a bag may carry them.
func TestStepRuntimeReads(t *testing.T) {
	for raw, want := range map[string]string{
		`"java17.0.9"`: "java17.0.9",
		`"python3.12"`: "python3.12",
		`"java"`:       "",
		`"17.0.9"`:     "",
		`17`:           "",
		`"java 17"`:    "",
		`{}`:           "",
	} {
		st := pony.Step{Extra: map[string]json.RawMessage{reporters.StepRuntimeKey: json.RawMessage(raw)}}
		if _, got := reporters.StepRuntime(&st); got != want {
			t.Errorf("%s: got %q, want %q", raw, got, want)
		}
	}
	if n, v := reporters.StepRuntime(&pony.Step{}); n != "" || v != "" {
		t.Errorf("no key: got %q %q", n, v)
	}
}
