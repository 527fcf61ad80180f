package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The --expected file: what it declares is parsed at start, and a bad file
// is refused with an error naming it and the place at fault.
func TestExpectedFlag(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good.json", `{
  "pony": [
    {"name": "mac nightly", "match": {"host": "mac-1", "arch": "darwin-arm64", "tags": ["nightly"]}, "interval": "6h"},
    {"match": {"runtime": "go1.22"}, "interval": "36h30m"}
  ],
  "other": []
}`)
	m := NewMain(io.Discard, io.Discard, func(string) string { return "" })
	if err := m.ParseFlags(context.Background(), []string{"--expected", good}); err != nil {
		t.Fatalf("--expected %s: got %v, want no error", good, err)
	}
	envs := m.Config.Expected["pony"]
	if len(envs) != 2 || len(m.Config.Expected) != 2 {
		t.Fatalf("got %+v, want 2 packages, pony with 2 environments", m.Config.Expected)
	}
	if e := envs[0]; e.Name != "mac nightly" || e.Match.Package != "pony" || e.Match.Host != "mac-1" || e.Match.Arch != "darwin-arm64" || len(e.Match.Tags) != 1 || e.Interval != 6*time.Hour {
		t.Errorf("first: got %+v, want mac nightly of package pony on mac-1 darwin-arm64 [nightly] every 6h", e)
	}
	if e := envs[1]; e.Match.Runtime != "go1.22" || e.Interval != 36*time.Hour+30*time.Minute {
		t.Errorf("second: got %+v, want runtime go1.22 every 36h30m", e)
	}

	// PONY_EXPECTED names the file too.
	m = NewMain(io.Discard, io.Discard, func(k string) string {
		if k == "PONY_EXPECTED" {
			return good
		}
		return ""
	})
	if err := m.ParseFlags(context.Background(), nil); err != nil || len(m.Config.Expected["pony"]) != 2 {
		t.Errorf("PONY_EXPECTED: got %v and %+v, want the file read", err, m.Config.Expected)
	}

	for _, tc := range []struct {
		name, body string
		want       []string
	}{
		{"syntax.json", "{\n  \"pony\": [\n    {\"match\": {}, \"interval\": \"6h\"},\n  ]\n}", []string{"syntax.json", "line 4"}},
		{"interval.json", `{"pony": [{"match": {"host": "h"}, "interval": "6 hours"}]}`, []string{"interval.json", `"6 hours"`}},
		{"neginterval.json", `{"pony": [{"name": "x", "match": {"host": "h"}, "interval": "-1h"}]}`, []string{"neginterval.json", `package "pony"`, `[0] ("x"): interval must be positive`}},
		{"unknown.json", "{\"pony\": [\n{\"match\": {\"hots\": \"h\"}, \"interval\": \"1h\"}]}", []string{"unknown.json", "line 2", `unknown field "hots"`}},
		{"list.json", `[{"match": {}, "interval": "1h"}]`, []string{"list.json", "want {\"PACKAGE\""}},
		{"dup.json", `{"p": [{"name": "a", "match": {}, "interval": "1h"}, {"name": "a", "match": {}, "interval": "2h"}]}`, []string{"dup.json", `[1] ("a"): name is also the name of [0]`}},
		{"otherpkg.json", `{"p": [{"match": {"package": "q"}, "interval": "1h"}]}`, []string{"otherpkg.json", `match.package is "q"`}},
		{"empty.json", ``, []string{"empty.json", "empty"}},
	} {
		p := write(tc.name, tc.body)
		m := NewMain(io.Discard, io.Discard, func(string) string { return "" })
		err := m.ParseFlags(context.Background(), []string{"--expected", p})
		if err == nil {
			t.Errorf("%s: got no error, want one saying %q", tc.name, tc.want)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: got %q, want it to say %q", tc.name, err, w)
			}
		}
	}
	missing := filepath.Join(dir, "missing.json")
	err := NewMain(io.Discard, io.Discard, func(string) string { return "" }).ParseFlags(context.Background(), []string{"--expected", missing})
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: got %v, want an error naming %s", err, missing)
	}
}
