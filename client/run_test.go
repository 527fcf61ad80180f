package client

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestGoTestJSON(t *testing.T) {
	for _, tc := range []struct {
		argv                 string
		want                 string
		isGo, added, verbose bool
	}{
		{"go test ./...", "go test -json ./...", true, true, false},
		{"go test -v -run X ./...", "go test -json -v -run X ./...", true, true, true},
		{"/usr/local/go/bin/go test -json ./...", "/usr/local/go/bin/go test -json ./...", true, false, false},
		{"go test ./... -args -json", "go test -json ./... -args -json", true, true, false},
		{"go vet ./...", "go vet ./...", false, false, false},
		{"gotestsum -- ./...", "gotestsum -- ./...", false, false, false},
		// pony.yaml's string steps are shell lines.
		{"sh -c go_test_-v_./...", "sh -c go test -json -v ./...", true, true, true},
		{"sh -c go_test_-json_./...", "sh -c go test -json ./...", true, false, false},
		{"sh -c go_test_./..._|_tee_out", "sh -c go test ./... | tee out", false, false, false},
		{"sh -c go_vet_./...", "sh -c go vet ./...", false, false, false},
	} {
		argv := strings.Fields(tc.argv)
		for i := range argv {
			argv[i] = strings.ReplaceAll(argv[i], "_", " ") // a shell line's words
		}
		got, isGo, added, verbose := GoTestJSON(argv)
		if strings.Join(got, " ") != tc.want || isGo != tc.isGo || added != tc.added || verbose != tc.verbose {
			t.Errorf("%s: got %q %v %v %v, want %q %v %v %v", tc.argv, got, isGo, added, verbose, tc.want, tc.isGo, tc.added, tc.verbose)
		}
	}
}

func TestTestCount(t *testing.T) {
	var c TestCount
	tee := &teeWriter{term: &strings.Builder{}, parse: &strings.Builder{}, count: &c}
	for _, chunk := range []string{
		`{"Action":"run","Test":"TestA"}` + "\n" + `{"Action":"pa`, `ss","Test":"TestA"}` + "\n",
		`{"Action":"fail","Package":"p","Test":"TestB"}` + "\n" + `{"Action":"fail","Package":"p"}` + "\n",
		"ok 1 - a\nnot ok 2 - b\nnot ok 3 - c # TODO later\n    ok 1 - sub\n",
	} {
		tee.Write([]byte(chunk))
	}
	if tests, failed := c.Load(); tests != 5 || failed != 2 {
		t.Errorf("got %d tests %d failed, want 5 and 2", tests, failed)
	}
}

func TestGlobFiles(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a.xml", "r/b.xml", "r/x/c.xml", "r/x/y/d.xml", "r/x/y/e.txt"} {
		writeFile(t, filepath.Join(dir, f), "x")
	}
	for _, tc := range []struct{ pattern, want string }{
		{"r/**/*.xml", "r/b.xml r/x/c.xml r/x/y/d.xml"},
		{"**/*.xml", "a.xml r/b.xml r/x/c.xml r/x/y/d.xml"},
		{"r/*/c.xml", "r/x/c.xml"},
		{"r/x/**", "r/x/c.xml r/x/y/d.xml r/x/y/e.txt"},
		{"a.xml", "a.xml"},
		{"none/**/*.xml", ""},
		{"missing.xml", ""},
	} {
		got, err := GlobFiles(dir, tc.pattern)
		if err != nil {
			t.Errorf("%s: %v", tc.pattern, err)
			continue
		}
		if s := filepath.ToSlash(strings.Join(got, " ")); s != tc.want {
			t.Errorf("%s: got %q, want %q", tc.pattern, s, tc.want)
		}
	}
	if _, err := GlobFiles(dir, "r/[.xml"); err == nil {
		t.Errorf("a malformed pattern: got no error")
	}
}

// TestRunnerReports runs real commands writing TAP files: with no test in
// the command's output the files' tests join its step; with tests, each
// file is a step of its own. A file older than the run is left out.
func TestRunnerReports(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "out", "stale.tap")
	writeFile(t, stale, "1..1\nok 1 - old\n")
	old := time.Now().Add(-time.Hour)
	os.Chtimes(stale, old, old)
	write := `mkdir -p out/sub && printf '1..2\nok 1 - a\nnot ok 2 - b\n' > out/sub/new.tap`
	var notes []string
	r := &Runner{Say: func(f string, a ...any) { notes = append(notes, f) }}
	for _, tc := range []struct {
		name    string
		line    string
		steps   int
		tests   int
		format  string
		exit    int
		verdict int
	}{
		{"merged", write, 0, 2, "tap", 0, 1},
		{"own step", write + "; printf '1..1\\nok 1 - own\\n'", 1, 1, "tap", 0, 1},
		{"exit code kept", write + "; exit 5", 0, 2, "tap", 5, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			notes = nil
			sr := r.Run(context.Background(), Command{Argv: []string{"sh", "-c", tc.line}, Dir: dir,
				Reports: []ReportGlob{{Format: "tap", Pattern: "out/**/*.tap"}}})
			if len(sr.FileSteps) != tc.steps || len(sr.Step.Tests) != tc.tests || sr.Step.Format != tc.format || sr.ExitCode != tc.exit || sr.Verdict() != tc.verdict {
				t.Errorf("got %d file steps, %d tests, format %q, exit %d, verdict %d; want %d, %d, %q, %d, %d",
					len(sr.FileSteps), len(sr.Step.Tests), sr.Step.Format, sr.ExitCode, sr.Verdict(), tc.steps, tc.tests, tc.format, tc.exit, tc.verdict)
			}
			if len(notes) != 1 || !strings.Contains(notes[0], "ignored") {
				t.Errorf("notes: got %q, want one naming the stale file", notes)
			}
		})
	}
}

func TestStepName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"go test ./...", "go test ./..."},
		{"set -e\nmake\tcheck\n", "set -e make check"},
		{strings.Repeat("é", 150), strings.Repeat("é", 99) + "…"},
	} {
		if got := stepName(tc.in); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	if got, want := CommandLine([]string{"pytest", "-k", "a and b", "it's"}), `pytest -k 'a and b' 'it'\''s'`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
