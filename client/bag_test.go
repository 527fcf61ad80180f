package client

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pony-build/pony"
	"github.com/pony-build/pony/internal/testenv"
)

// fixtures returns the shared real-world fixtures folder, read in place
// (see testenv.SharedFixtures).
func fixtures(t testing.TB) string {
	t.Helper()
	dir := testenv.SharedFixtures(t)
	if dir == "" {
		t.Skip("shared fixtures opted out")
	}
	return dir
}

func TestExpandArgs(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.xml", "b.xml", "c.json", "[x].tap", "build/test-results/test/TEST-x.xml", "build/test-results/it/deep/TEST-y.xml", "build/z.xml"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, n)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	j := func(n string) string { return filepath.Join(dir, n) }
	for _, tc := range []struct {
		name    string
		args    []string
		want    []string
		wantErr string
	}{
		{"plain names kept, even missing", []string{j("c.json"), "missing.xml", "-"}, []string{j("c.json"), "missing.xml", "-"}, ""},
		{"glob sorted", []string{j("*.xml")}, []string{j("a.xml"), j("b.xml")}, ""},
		{"duplicates read once", []string{j("a.xml"), j("*.xml"), j("?.xml")}, []string{j("a.xml"), j("b.xml")}, ""},
		{"no match names the pattern", []string{j("*.trx")}, nil, `pattern "` + j("*.trx") + `" matches no file`},
		{"malformed pattern", []string{j("[")}, nil, "bad pattern"},
		{"** spans directories", []string{j("build/**/TEST-*.xml")}, []string{j("build/test-results/it/deep/TEST-y.xml"), j("build/test-results/test/TEST-x.xml")}, ""},
		{"** spans none too", []string{j("**/z.xml")}, []string{j("build/z.xml")}, ""},
		{"** with no match names the pattern", []string{j("build/**/*.trx")}, nil, "matches no file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ExpandArgs(tc.args)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("got %v, %v; want an error holding %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestApplySets(t *testing.T) {
	for _, tc := range []struct {
		name    string
		sets    []string
		want    string
		wantErr string
	}{
		{"string and JSON values", []string{"python=3.12", "shards=4", "nightly=true", "matrix={\"os\":\"linux\"}", "note=not json"},
			`{"package":"pony","matrix":{"os":"linux"},"nightly":true,"note":"not json","python":3.12,"shards":4}`, ""},
		{"known keys keep their type", []string{"branch=release", "tags=[\"a\",\"b\"]", "duration=12.5"},
			`{"package":"pony","tags":["a","b"],"branch":"release","duration":12.5}`, ""},
		{"a quoted number stays a string", []string{`python="3.10"`}, `{"package":"pony","python":"3.10"}`, ""},
		{"an empty value", []string{"empty="}, `{"package":"pony","empty":""}`, ""},
		{"wrong type for a known key", []string{"duration=soon"}, "", "--set"},
		{"no equals sign", []string{"flag"}, "", "want key=value"},
		{"receipt is the server's", []string{"receipt={}"}, "", "written by the server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ci := pony.ClientInfo{Package: "pony"}
			err := ApplySets(&ci, tc.sets)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("got %v, want an error holding %q", err, tc.wantErr)
				}
				return
			}
			b, _ := json.Marshal(ci)
			if err != nil || string(b) != tc.want {
				t.Errorf("got %s, %v; want %s", b, err, tc.want)
			}
		})
	}
}

func TestReadStepsRealFiles(t *testing.T) {
	fx := fixtures(t)
	root := testenv.RepoRoot(t)
	inputs := []Input{
		{Path: filepath.Join(root, "reporters", "testdata", "gotest", "everyday.json")},
		{Path: filepath.Join(fx, "gotest", "dorny", "golang-json.json")},
		{Path: filepath.Join(fx, "junit", "dorny", "jest-junit.xml")},
		{Path: Stdin, Format: "gotest"},
	}
	stdin, err := os.Open(filepath.Join(root, "reporters", "testdata", "gotest", "real_shlex.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	steps, problems, err := ReadSteps(context.Background(), inputs, ReadOptions{Stdin: stdin})
	if err != nil || len(problems) != 0 {
		t.Fatalf("got %v, %v; want no error", problems, err)
	}
	if len(steps) != len(inputs) {
		t.Fatalf("got %d steps, want %d (one per input)", len(steps), len(inputs))
	}
	for i, want := range []string{"gotest", "gotest", "junit", "gotest"} {
		s := steps[i]
		if s.Format != want || s.Name != inputs[i].Path || len(s.Tests) == 0 {
			t.Errorf("step %d: got format %q name %q with %d tests, want %s named %q with tests", i, s.Format, s.Name, len(s.Tests), want, inputs[i].Path)
		}
	}
}

func TestReadStepsTruncated(t *testing.T) {
	// A real stream cut in the middle, as when the runner is killed.
	data, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "reporters", "testdata", "gotest", "everyday.json"))
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.json")
	if err := os.WriteFile(cut, data[:len(data)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	steps, problems, err := ReadSteps(context.Background(), []Input{{Path: cut}}, ReadOptions{})
	if err != nil {
		t.Fatalf("got %v, want the good part kept", err)
	}
	var ie *pony.InputError
	if len(problems) != 1 || !errors.As(problems[0], &ie) || ie.File != cut {
		t.Fatalf("problems: got %v, want one InputError naming %s", problems, cut)
	}
	if len(steps) != 1 || !steps[0].Incomplete || len(steps[0].Tests) == 0 {
		t.Errorf("got %+v, want one incomplete step with the tests read", steps)
	}
}

func TestReadStepsUnusable(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(testenv.RepoRoot(t), "reporters", "testdata", "gotest", "generate.sh")
	for _, tc := range []struct {
		name    string
		inputs  []Input
		stdin   string
		wantErr string
	}{
		{"missing file", []Input{{Path: filepath.Join(dir, "nope.xml")}}, "", "nope.xml: no such file or directory"},
		{"directory", []Input{{Path: dir}}, "", "is a directory"},
		{"not a report", []Input{{Path: script}}, "", "unrecognised report format"},
		{"stdin twice", []Input{{Path: Stdin}, {Path: Stdin}}, "", "standard input named twice"},
		{"unknown format name", []Input{{Path: script, Format: "trx"}}, "", `unknown format "trx"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			steps, _, err := ReadSteps(context.Background(), tc.inputs, ReadOptions{Stdin: strings.NewReader(tc.stdin)})
			var re *ReadError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.wantErr) || steps != nil {
				t.Errorf("got %d steps, %v; want a ReadError holding %q", len(steps), err, tc.wantErr)
			}
		})
	}
}
