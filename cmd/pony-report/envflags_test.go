package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSplitSets(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a=1", []string{"a=1"}},
		{"a=1; b=two ;;", []string{"a=1", "b=two"}},
		{"a=x;y\nb={\"k\": 1}\n\n", []string{"a=x;y", `b={"k": 1}`}},
	} {
		if got := splitSets(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitSets(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestBagFlagsFromEnv checks that every shared flag that shapes the bag reads
// its PONY_* variable, and that a flag wins over its variable.
func TestBagFlagsFromEnv(t *testing.T) {
	pass, err := os.ReadFile("testdata/pass.json")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"PONY_SPOOL_DIR": filepath.Join(t.TempDir(), "spool"),
		"PONY_PACKAGE":   "envpkg", "PONY_HOST": "envhost", "PONY_ARCH": "plan9-mips", "PONY_RUNTIME": "go1.0",
		"PONY_TAGS": "a,b", "PONY_SET": "job=nightly; pr=42", "PONY_KEEP_OUTPUT": "true",
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"parse", "--set", "pr=43", "-"}, bytes.NewReader(pass), &stdout, &stderr,
		func(k string) string { return env[k] })
	if code != 0 {
		t.Fatalf("got exit %d, %s; want 0", code, stderr.String())
	}
	var bag struct {
		ClientInfo map[string]any `json:"client_info"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &bag); err != nil {
		t.Fatal(err)
	}
	ci := bag.ClientInfo
	for k, want := range map[string]any{
		"package": "envpkg", "host": "envhost", "arch": "plan9-mips", "runtime": "go1.0",
		"job": "nightly", "pr": float64(43), // the flag wins
	} {
		if ci[k] != want {
			t.Errorf("client_info %s: got %v, want %v", k, ci[k], want)
		}
	}
	if tags, _ := json.Marshal(ci["tags"]); string(tags) != `["a","b"]` {
		t.Errorf("tags: got %s, want [\"a\",\"b\"]", tags)
	}
	kept := strings.Count(stdout.String(), `"output"`)
	delete(env, "PONY_KEEP_OUTPUT")
	stdout.Reset()
	if code := run(context.Background(), []string{"parse", "-"}, bytes.NewReader(pass), &stdout, &stderr,
		func(k string) string { return env[k] }); code != 0 {
		t.Fatalf("got exit %d, %s; want 0", code, stderr.String())
	}
	if without := strings.Count(stdout.String(), `"output"`); kept <= without {
		t.Errorf("PONY_KEEP_OUTPUT=true: got %d outputs kept, want more than the %d kept without it", kept, without)
	}
}
