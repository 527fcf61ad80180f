package client

import (
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig("pony.yaml", []byte(`package: web
tags: [a, b]
set: {suite: unit, shard: 2}
steps:
  - name: deps
    type: setup
    run: pip install -e .
  - name: tests
    run: [pytest, --junitxml=reports/junit.xml]
    junit: reports/*.xml
    tap: [a.tap, b.tap]
    dir: sub/dir
    time_limit: 10m
    continue_on_error: true
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Package != "web" || strings.Join(c.Tags, ",") != "a,b" || strings.Join(c.Set, " ") != `shard=2 suite="unit"` {
		t.Errorf("got package %q tags %q set %q, want web, a,b, shard=2 suite=\"unit\"", c.Package, c.Tags, c.Set)
	}
	if len(c.Steps) != 2 {
		t.Fatalf("steps: got %d, want 2", len(c.Steps))
	}
	s0, s1 := c.Steps[0], c.Steps[1]
	if s0.Type != "setup" || strings.Join(s0.Argv, "|") != "sh|-c|pip install -e ." {
		t.Errorf("step 0: got %+v", s0)
	}
	if strings.Join(s1.Argv, "|") != "pytest|--junitxml=reports/junit.xml" || s1.Dir != "sub/dir" || s1.TimeLimit != 10*time.Minute ||
		!s1.ContinueOnError || len(s1.Reports) != 3 || s1.Reports[0] != (ReportGlob{Format: "junit", Pattern: "reports/*.xml"}) || s1.Reports[2] != (ReportGlob{Format: "tap", Pattern: "b.tap"}) {
		t.Errorf("step 1: got %+v", s1)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"steps:\n  - run: x\n    bogus: 1\n", `pony.yaml:3: unknown field "bogus"`},
		{"packages: x\nsteps:\n  - run: x\n", `pony.yaml:1: unknown field "packages"`},
		{"steps:\n  - run: x\n  - name: y\n    time_limit: 10x\n    run: [a, b]\n", `pony.yaml:4: steps[1].time_limit "10x": want a duration`},
		{"steps:\n  - run: [a, {b: c}]\n", "pony.yaml:2: steps[0].run[1]: want a string"},
		{"steps:\n  - name: nothing\n", "pony.yaml:2: steps[0] has no run:"},
		{"package: x\n", "pony.yaml: no steps"},
		{"steps:\n  - run: x\n    junit: {a: b}\n", "pony.yaml:3: steps[0].junit: want a glob or a list of globs"},
		{"steps: [\n", "pony.yaml:1:"},
	} {
		_, err := ParseConfig("pony.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want an error holding %q", tc.yaml, err, tc.want)
		}
	}
}
